#!/usr/bin/env bats
# test/21-introspect-pg.bats: introspect on a live PostgreSQL database.
# One throwaway server for the file (test/pg.bash: initdb in a temp
# dir, 127.0.0.1 and a Unix socket there, a free port, stopped by its
# pid).  Each structure.sql of test/data/schemas is loaded with psql;
# the records of the live database must equal those of the file.
load helper
load pg

DATA="$ROOT/test/data/schemas"
SQL="$ROOT/test/data/sql"
export PATH="$ROOT/libexec/sluice:$PATH"
TSC="$ROOT/test/ts/node_modules/.bin/tsc"

# load DB FILE: a new database from a structure.sql; psql's errors
# (statements needing extensions this server lacks) go to DB.errors
load_db() {
	pg_psql -c "CREATE DATABASE $1" postgres
	# psql meta-commands of newer pg_dumps (\restrict) are not SQL
	sed '/^\\/d' "$2" | psql -X -q -d "$1" -f - > /dev/null \
	    2> "$BATS_FILE_TMPDIR/$1.errors" || true
}

setup_file() {
	# one server for the file, whose configuration some tests change
	# for a while (pg_hba.conf in pg-1.13, ssl in pg-1.14): the tests
	# of this file run one at a time, whatever --jobs says
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	pg_start "$BATS_FILE_TMPDIR/pg"
	# log each statement with the client's name, to count queries
	pg_psql -c "ALTER SYSTEM SET log_statement = 'all'" \
	    -c "ALTER SYSTEM SET log_connections = on" \
	    -c "ALTER SYSTEM SET log_line_prefix = '%a: '" \
	    -c "SELECT pg_reload_conf()" postgres > /dev/null
	for db in danbooru lago openstreetmap; do
		load_db "$db" "$DATA/$db.structure.sql"
	done
	load_db constructs "$SQL/constructs.structure.sql"
	load_db fknocols "$SQL/fk-no-columns.structure.sql"
}

teardown_file() {
	pg_stop "$BATS_FILE_TMPDIR/pg"
}

# what a record says, not where it was read from; arrays whose order
# pg_dump sets by dependencies, not names, sorted
norm() {
	jq -c 'del(.source) | if .columns then .columns |= map(del(.line))
	    else . end | if .indexes then .indexes |= sort_by(.name) else . end
	    | if .foreign_keys then .foreign_keys |= sort_by(.name) else . end
	    | if .checks then .checks |= sort_by(.name) else . end' | sort
}

# cross DB SCHEMAS [SKIP]: live records == file records (minus SKIP)
cross() {
	local db=$1 schemas=$2 skip=${3:-}
	run --separate-stderr introspect --strict --schema "$schemas" \
	    "postgres://postgres@127.0.0.1:$PGPORT/$db"
	assert_success
	assert_equal "$stderr" ''
	printf '%s\n' "$output" | norm > live.jsonl
	introspect --strict "$DATA/$db.structure.sql" |
	    jq -c --arg skip "$skip" 'select(.name != $skip)' | norm > file.jsonl
	assert_equal "$(wc -l < live.jsonl)" "$(wc -l < file.jsonl)"
	diff -u file.jsonl live.jsonl
}

# the statements psql refused, as "line: message"
refused() {
	sed -n 's/^psql:[^:]*:\([0-9]*\): ERROR:  \(.*\)/\1: \2/p' \
	    "$BATS_FILE_TMPDIR/$1.errors"
}

@test "pg-1.1: danbooru: the live database gives the records of its structure.sql" {
	assert_equal "$(refused danbooru)" ''
	cross danbooru public
}

@test "pg-1.2: lago: the same, with the partman schema (pg_partman is not installed)" {
	assert_equal "$(refused lago)" '1383: extension "pg_partman" is not available'
	cross lago public,partman
}

@test "pg-1.3: openstreetmap: the same, without the one table that needs PostGIS" {
	# postgis is not installed: its extension and the moderation_zones
	# table (a geometry column) and what refers to it are refused
	run refused openstreetmap
	assert_line --index 0 '37: extension "postgis" is not available'
	assert_line --index 1 '44: extension "postgis" does not exist'
	assert_line --index 2 '1035: type "public.geometry" does not exist'
	assert_equal "${#lines[@]}" 10
	assert_equal "$(refused openstreetmap | sed 1,3d |
	    grep -vc 'relation "public.moderation_zones" does not exist')" 0
	cross openstreetmap public moderation_zones
}

# live_file DB SCHEMAS FILE: DB, loaded from test/data/sql/FILE without
# an error, gives live.jsonl; FILE gives file.jsonl; they are equal
live_file() {
	assert_equal "$(refused "$1")" ''
	run --separate-stderr introspect --strict --schema "$2" \
	    "postgresql://postgres@127.0.0.1:$PGPORT/$1"
	assert_success
	printf '%s\n' "$output" | norm > live.jsonl
	introspect "$SQL/$3" | norm > file.jsonl
	diff -u file.jsonl live.jsonl
}

@test "pg-1.4: every construct of the issue: live equals file" {
	live_file constructs public,billing constructs.structure.sql
}

@test "pg-1.16: foreign keys that name no columns: the server's resolution equals the file's" {
	live_file fknocols public,s fk-no-columns.structure.sql
	assert_equal "$(jq -c 'select(.name == "toys") | .foreign_keys | map(.to_columns)' live.jsonl)" '[["id"],["code"]]'
}

@test "pg-1.5: --schema chooses the namespaces, public by default" {
	run introspect "postgres://postgres@127.0.0.1:$PGPORT/constructs"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r '"\(.kind) \(.schema) \(.name)"')" \
'enum null status
table null events
table null invoice_lines
table null schema_migrations
table null users'
	run introspect --schema billing "postgres://postgres@127.0.0.1:$PGPORT/constructs"
	assert_equal "$(printf '%s\n' "$output" | jq -r '"\(.kind) \(.schema) \(.name)"')" \
'enum billing currency
table billing invoices'
}

@test "pg-1.6: a keyword string, PG* variables, and --from postgres" {
	run introspect "host=127.0.0.1 port=$PGPORT dbname=constructs user=postgres"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 5
	PGDATABASE=constructs run introspect --from postgres ''
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r .source.file | sort -u)" \
	    "postgres://$PGHOST:$PGPORT/constructs"
	assert_equal "$(printf '%s\n' "$output" | jq -r .source.kind | sort -u)" postgres
}

@test "pg-1.7: a fixed handful of queries, whatever the number of tables" {
	# a name of this test's own (PGAPPNAME wins over introspect's
	# fallback application name): nothing else's queries are counted
	app=pg17-$$
	queries() {
		grep -c "^$app: LOG:  \\(statement\\|execute\\)" \
		    "$PG_DIR/server.log" || true
	}
	conns() {
		grep -c "connection authorized: .*application_name=$app" \
		    "$PG_DIR/server.log" || true
	}
	before=$(queries) cbefore=$(conns)
	PGAPPNAME=$app introspect "postgres://postgres@127.0.0.1:$PGPORT/lago" > /dev/null
	PGAPPNAME=$app introspect "postgres://postgres@127.0.0.1:$PGPORT/constructs" > /dev/null
	n=$(( $(queries) - before ))
	# two per run, one on each of two connections: the statements
	# (settings and tables, enums, tables, columns, comments) as one
	# string, and (settings and tables, constraints, operator classes,
	# indexes) as another; constructs has a foreign key to a table of
	# a schema not read, whose definition only the server prints: one
	# more query (for all such keys at once)
	assert_equal "$n" 5
	assert_equal "$(( $(conns) - cbefore ))" 4
}

@test "pg-1.11: where the server lets only one connection in, it reads everything, the same records" {
	pg_psql -c "CREATE ROLE solo LOGIN CONNECTION LIMIT 1" postgres
	introspect "postgres://postgres@127.0.0.1:$PGPORT/lago" > two.jsonl
	# both at once may each count the other and be refused: then one
	# tries again alone
	for i in 1 2 3 4 5; do
		# the server process of the last run may still be ending, and
		# counts against the limit until it has: wait for it (5 s)
		for t in $(seq 50); do
			[ "$(pg_psql -At -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'solo'" postgres)" = 0 ] && break
			read -r -t 0.1 <> <(:) || true
		done
		run --separate-stderr introspect "postgres://solo@127.0.0.1:$PGPORT/lago"
		[ "$status" -eq 0 ] || break
		[ "$output" = "$(cat two.jsonl)" ] || break
	done
	pg_psql -c "DROP ROLE solo" postgres
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$output" "$(cat two.jsonl)"
	assert_equal "$(wc -l < two.jsonl)" 180
}

# nolib: a directory whose libpq.so.5 cannot be loaded; with it in
# LD_LIBRARY_PATH, only a run that needs libpq fails
nolib() {
	mkdir -p nolib
	: > nolib/libpq.so.5
	LD_LIBRARY_PATH=$PWD/nolib "$@"
}

# wait_for CMD...: until CMD succeeds, for up to 10 s (a server's reload
# is asynchronous)
wait_for() {
	local i
	for i in $(seq 100); do
		"$@" > /dev/null 2>&1 && return 0
		read -r -t 0.1 <> <(:) || true
	done
	echo "wait_for: $* did not succeed in 10 s" >&2
	return 1
}

@test "pg-1.12: the built-in client reads, without libpq, the records libpq gives, over TCP and a Unix socket; the rest is libpq's" {
	url="postgres://postgres@127.0.0.1:$PGPORT/lago"
	SLUICE_LIBPQ=1 introspect "$url" > libpq.jsonl
	assert_equal "$(wc -l < libpq.jsonl)" 180
	nolib run --separate-stderr introspect "$url"
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$output" "$(cat libpq.jsonl)"
	# the socket in the server's directory, named by the URL's query
	sock="postgres:///lago?host=$PG_DIR&sslmode=prefer"
	SLUICE_LIBPQ=1 introspect "$sock" > libpq-sock.jsonl
	assert_equal "$(jq -r .source.file libpq-sock.jsonl | sort -u)" \
	    "postgres://$PG_DIR:$PGPORT/lago"
	nolib run --separate-stderr introspect "$sock"
	assert_success
	assert_equal "$output" "$(cat libpq-sock.jsonl)"
	# PG* variables alone, and localhost
	PGDATABASE=lago PGHOST=localhost nolib run --separate-stderr \
	    introspect --from postgres ''
	assert_failure 69
	assert_regex "$stderr" 'cannot load libpq\.so\.5'
	PGDATABASE=lago PGHOST=localhost nolib run --separate-stderr \
	    introspect "postgres://"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r .source.file | sort -u)" \
	    "postgres://localhost:$PGPORT/lago"
	# what it leaves to libpq: a keyword string, TLS required, a
	# parameter or variable it does not know, a host elsewhere, and
	# a connection it could not make (libpq tries again)
	for conninfo in "host=127.0.0.1 port=$PGPORT dbname=lago user=postgres" \
	    "$url?sslmode=require" "$url?options=-cgeqo%3Doff" \
	    "postgres://postgres@192.0.2.1:$PGPORT/lago?connect_timeout=2" \
	    "postgres://postgres@127.0.0.1:1/lago"; do
		nolib run --separate-stderr introspect "$conninfo"
		assert_failure 69
		assert_regex "$stderr" 'cannot load libpq\.so\.5'
	done
	PGOPTIONS=-cgeqo=off nolib run --separate-stderr introspect "$url"
	assert_failure 69
	SLUICE_LIBPQ=1 nolib run --separate-stderr introspect "$url"
	assert_failure 69
	assert_output ''
}

@test "pg-1.13: SCRAM-SHA-256, MD5 and a clear password by the built-in client; a wrong or missing one is refused by libpq (exit 77)" {
	hba=$PG_DIR/data/pg_hba.conf
	cp "$hba" hba.orig
	{
		echo 'host all pw_scram 127.0.0.1/32 scram-sha-256'
		echo 'host all pw_md5 127.0.0.1/32 md5'
		echo 'host all pw_clear 127.0.0.1/32 password'
		cat hba.orig
	} > hba.new
	# written in place: the file keeps its owner
	cat hba.new > "$hba"
	pg_psql -c "CREATE ROLE pw_scram LOGIN PASSWORD 's@cr:t/1'" \
	    -c "SET password_encryption = 'md5'" \
	    -c "CREATE ROLE pw_md5 LOGIN PASSWORD 'md5 pass'" \
	    -c "CREATE ROLE pw_clear LOGIN PASSWORD 'clear'" \
	    -c "SELECT pg_reload_conf()" postgres > /dev/null
	wait_for eval '! PGPASSWORD=no psql -X -h 127.0.0.1 -U pw_scram -d postgres -c "SELECT 1"'
	base=127.0.0.1:$PGPORT/constructs
	nolib run --separate-stderr introspect \
	    "postgres://pw_scram:s%40cr%3At%2F1@$base"
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 5
	PGPASSWORD='md5 pass' nolib run --separate-stderr introspect \
	    "postgres://pw_md5@$base"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 5
	nolib run --separate-stderr introspect \
	    "postgres://pw_clear:clear@$base?sslmode=disable"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 5
	# refused: libpq's message, never the password
	run --separate-stderr introspect "postgres://pw_scram:wrong@$base"
	assert_failure 77
	assert_output ''
	assert_regex "$stderr" "^introspect: postgres://$base: cannot connect: .*password authentication failed for user \"pw_scram\""
	refute_regex "$stderr" 'wrong'
	HOME=$PWD run --separate-stderr introspect "postgres://pw_md5@$base"
	assert_failure 77
	assert_regex "$stderr" 'no password supplied'
	# the password in ~/.pgpass: libpq's to read
	printf '127.0.0.1:%s:constructs:pw_scram:s@cr\\:t/1\n' "$PGPORT" > .pgpass
	chmod 600 .pgpass
	HOME=$PWD run --separate-stderr introspect "postgres://pw_scram@$base"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 5
	cat hba.orig > "$hba"
	pg_psql -c "DROP ROLE pw_scram" -c "DROP ROLE pw_md5" \
	    -c "DROP ROLE pw_clear" -c "SELECT pg_reload_conf()" postgres > /dev/null
}

@test "pg-1.14: a server that offers TLS is left to libpq, which takes it" {
	command -v openssl > /dev/null || skip "no openssl to make a certificate"
	d=$PG_DIR/data
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -keyout "$d/server.key" -out "$d/server.crt" \
	    -subj /CN=127.0.0.1 -days 2 2> /dev/null
	chmod 600 "$d/server.key"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$d/server.key" "$d/server.crt"
	pg_psql -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" \
	    postgres > /dev/null
	url="postgres://postgres@127.0.0.1:$PGPORT/constructs"
	wait_for psql -X "$url?sslmode=require" -c "SELECT 1"
	nolib run --separate-stderr introspect "$url"
	assert_failure 69
	assert_regex "$stderr" 'cannot load libpq\.so\.5'
	run --separate-stderr introspect "$url"
	pg_psql -c "ALTER SYSTEM RESET ssl" -c "SELECT pg_reload_conf()" \
	    postgres > /dev/null
	wait_for eval '! psql -X "$url?sslmode=require" -c "SELECT 1"'
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 5
}

@test "pg-1.15: every URL the built-in client takes, libpq reads the same way (t-pgwire)" {
	[ -x "$ROOT/test/unit/t-pgwire" ] || skip "unit programs not built (make unit)"
	run -0 "$ROOT/test/unit/t-pgwire"
	assert_regex "$output" '^t-pgwire: 29 listed and 200000 random URLs: [0-9]+ taken, [0-9]+ declined, all as libpq reads them$'
	# a fair share of both: the random URLs reach each way
	[[ "$output" =~ ([0-9]+)\ taken,\ ([0-9]+)\ declined ]]
	(( BASH_REMATCH[1] > 20000 && BASH_REMATCH[2] > 20000 ))
}

@test "pg-1.8: a refused connection names host, port and database, never the password" {
	run -66 --separate-stderr introspect 'postgres://me:s3cret@127.0.0.1:1/shop'
	assert_output ''
	assert_equal "${stderr%%:*}" 'introspect'
	assert_regex "$stderr" '^introspect: postgres://127\.0\.0\.1:1/shop: cannot connect: '
	refute_regex "$stderr" 's3cret'
}

@test "pg-1.9: a missing permission is exit 77, naming the database" {
	pg_psql -c "CREATE ROLE outsider LOGIN" \
	    -c "REVOKE CONNECT ON DATABASE danbooru FROM PUBLIC" postgres
	run -77 --separate-stderr introspect "postgres://outsider@127.0.0.1:$PGPORT/danbooru"
	pg_psql -c "GRANT CONNECT ON DATABASE danbooru TO PUBLIC" \
	    -c "DROP ROLE outsider" postgres
	assert_output ''
	assert_regex "$stderr" "^introspect: postgres://127\.0\.0\.1:$PGPORT/danbooru: cannot connect: .*permission denied for database \"danbooru\""
}

@test "pg-1.10: definitions spelled out from the catalog equal the server's, and the rest is still the server's" {
	# test/data/sql/live-paths.sql: hash and gin indexes, default and
	# other operator classes, INCLUDE, ON ONLY, WHERE clauses that test
	# for NULL (spelled out) and others (the server's), a domain and a
	# collation (the server's, asked afterwards), an enum and a table
	# in a schema whose name needs quoting, comments, types with
	# modifiers (built-in ones named by the client, the others by
	# format_type); pg_dump -s of the database gives the same records
	pg_psql -c "CREATE DATABASE paths" postgres
	pg_psql -d paths -f "$SQL/live-paths.sql"
	pg_dump -s -d paths > paths.sql
	app=pg110-$$
	queries() {
		grep -c "^$app: LOG:  \\(statement\\|execute\\)" \
		    "$PG_DIR/server.log" || true
	}
	before=$(queries)
	PGAPPNAME=$app run --separate-stderr introspect --strict \
	    --schema "public,o'dd" "postgres://postgres@127.0.0.1:$PGPORT/paths"
	assert_success
	assert_equal "$stderr" ''
	# the two strings of pg-1.7, and one more query, for the indexes
	# on the domain and with a collation
	assert_equal "$(( $(queries) - before ))" 3
	printf '%s\n' "$output" | norm > live.jsonl
	introspect --strict paths.sql | norm > file.jsonl
	assert_equal "$(wc -l < live.jsonl)" 5
	diff -u file.jsonl live.jsonl
	run jq -r 'select(.name == "things") | .indexes[] |
	    [.name, .using // "-", (.where // "-"),
	    (.options // {} | tostring)] | join(" ")' live.jsonl
	assert_output 'things_archived - archived {}
things_code - - {}
things_coll - - {}
things_cover - - {"include":["amount","at"]}
things_doc gin - {"opclass":{"doc":"jsonb_path_ops"}}
things_doc2 gin deleted_at IS NULL {}
things_expr - - {}
things_fill - - {}
things_hash hash - {}
things_live - deleted_at IS NULL {}
things_live2 - (deleted_at IS NULL) AND ("Order" IS NOT NULL) {}
things_mood - - {}
things_nulls - - {"nulls_not_distinct":true}
things_nums gin - {}
things_or - (deleted_at IS NULL) OR archived {}
things_pattern - - {"opclass":{"name":"varchar_pattern_ops"}}
things_tags gin - {}'
	run jq -rs 'map(select(.name == "things" or .name == "extra")) |
	    sort_by(.name)[] | [.name, .comment] + [.columns[] |
	    select(.comment) | .name + ": " + .comment] | join(" ")' live.jsonl
	assert_output 'extra odd
things things Order: ordering'
	run jq -r 'select(.name == "kinds") | .columns[] | .sql_type' live.jsonl
	assert_output 'bpchar
character(1)
character(7)[]
character varying
character varying(20)[]
numeric(5,0)
numeric(3,-2)
numeric[]
numeric(10,2)[]
time(0) without time zone
time with time zone
timestamp(0) without time zone
timestamp with time zone[]
timestamp(3) without time zone[]
"char"
real
double precision[]
smallint[]
json[]
inet
bytea
interval(3)
bit(1)
bit varying
public.short_text[]
"o'"'"'dd".mood[]'
}

# zero SOURCE: examples/zero generates TypeScript that tsc accepts
zero() {
	[ -x "$TSC" ] || skip "TypeScript not installed (sh mk/ts.sh)"
	run -0 sluice run -q --no-cache -D schema="$1" -D out="$PWD/out" \
	    "$ROOT/examples/zero/pipeline.json"
	assert_file_exists out/generated-schema.ts
	ln -sfn "$ROOT/test/ts/node_modules" out/node_modules
	cp "$ROOT/test/ts/tsconfig.json" out/tsconfig.json
	run -0 sh -c 'cd out && "$0" -p tsconfig.json --strict --noEmit' "$TSC"
	assert_output ''
}

@test "pg-2.1: examples/zero on the live lago database type-checks" {
	zero "postgres://postgres@127.0.0.1:$PGPORT/lago"
}

@test "pg-2.2: examples/zero on danbooru.structure.sql type-checks" {
	zero "$DATA/danbooru.structure.sql"
}

@test "pg-2.3: examples/zero on lago.structure.sql type-checks" {
	zero "$DATA/lago.structure.sql"
}

@test "pg-2.4: examples/zero on openstreetmap.structure.sql type-checks" {
	zero "$DATA/openstreetmap.structure.sql"
}

@test "pg-2.5: examples/zero on the live danbooru and openstreetmap databases type-checks" {
	zero "postgres://postgres@127.0.0.1:$PGPORT/danbooru"
	rm -rf out
	zero "postgres://postgres@127.0.0.1:$PGPORT/openstreetmap"
}
