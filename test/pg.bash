# test/pg.bash: a throwaway PostgreSQL server for tests and benchmarks.
# Source it, then:
#   pg_start DIR     initdb into DIR/data (trust auth, no fsync), listen
#                    on 127.0.0.1 and a Unix socket in DIR only, on a free
#                    port; sets PGHOST, PGPORT, PGUSER, PGDATABASE and
#                    PG_URL; as root the server runs as the postgres user
#   pg_stop DIR      stop it by the postmaster's pid (SIGINT: fast
#                    shutdown), SIGKILL after 20 s; safe to call twice
#   pg_psql ARGS...  psql against it, quiet, no psqlrc
# Server binaries come from pg_config --bindir or /usr/lib/postgresql/*.

pg_bindir() {
	local d
	for d in "${PG_BINDIR:-}" "$(pg_config --bindir 2>/dev/null)" \
	    /usr/lib/postgresql/*/bin; do
		if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			printf '%s\n' "$d"
			return 0
		fi
	done
	echo "pg.bash: no PostgreSQL server binaries (initdb, pg_ctl)" >&2
	return 1
}

# run a server program as the owner of the data directory
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	local dir=$1 bin port try d
	bin=$(pg_bindir) || return 1
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	# a socket path must fit in sun_path (107 bytes)
	if [ ${#dir} -gt 80 ]; then
		echo "pg.bash: $dir: too long for a socket directory" >&2
		return 1
	fi
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir"
		# the server must reach its directory: let it traverse the
		# temporary directories above it (up to /tmp), nothing else
		case $dir in
		/tmp/*) ;;
		*) echo "pg.bash: $dir: not under /tmp" >&2; return 1 ;;
		esac
		d=$dir
		while d=$(dirname "$d") && [ "$d" != /tmp ]; do
			[ -O "$d" ] && chmod o+x "$d"
		done
	fi
	pg_as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
	    --locale=C --no-sync > "$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		return 1
	}
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
		if pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		    -t 60 -s -o "-h 127.0.0.1 -k $dir -p $port -c fsync=off \
		    -c full_page_writes=off -c synchronous_commit=off" \
		    start > /dev/null 2>&1; then
			break
		fi
		# the port was taken: try another
		grep -q 'could not bind\|Address already in use' \
		    "$dir/server.log" 2>/dev/null || {
			cat "$dir/server.log" >&2
			return 1
		}
		port=
	done
	if [ -z "$port" ]; then
		echo "pg.bash: no free port" >&2
		return 1
	fi
	export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
	export PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
	export PG_DIR=$dir
}

pg_stop() {
	local dir=${1:-$PG_DIR} pid i
	[ -n "$dir" ] && [ -f "$dir/data/postmaster.pid" ] || return 0
	pid=$(head -n 1 "$dir/data/postmaster.pid")
	[ -n "$pid" ] || return 0
	kill -INT "$pid" 2>/dev/null || return 0
	for i in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || return 0
		read -r -t 0.1 <> <(:) || true
	done
	kill -KILL "$pid" 2>/dev/null || true
}

pg_psql() {
	psql -X -q -v ON_ERROR_STOP=1 "$@"
}
