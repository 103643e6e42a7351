# test/slurm.bash: a throwaway single-node Slurm for tests and benchmarks.
# Source it, then:
#   slurm_start DIR   munged, slurmctld and slurmd (Debian's munge and
#                     slurm-wlm) with everything under DIR: config, fresh
#                     state, spool, logs, pid files, the munge socket;
#                     addresses 127.0.0.1 only, free ports; exports
#                     SLURM_CONF; returns 1 with one line on stderr when
#                     the daemons cannot run here
#   slurm_stop DIR    cancel the jobs still out (bounded), stop the
#                     daemons by their pids (TERM, KILL after 10 s), and
#                     any job step daemon left of this cluster (found by
#                     its SLURM_CONF); safe to call twice
# No systemd and nothing in /etc is touched; root is needed (slurmd).

slurm_why=

# a free TCP port on 127.0.0.1 (bash's /dev/tcp: refused means free)
slurm_port() {
	local p try
	for try in 1 2 3 4 5 6 7 8 9 10; do
		p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

slurm_start() {
	local dir=$1 host cpus mem cport dport i
	for i in munged slurmctld slurmd sbatch squeue scancel; do
		command -v "$i" >/dev/null 2>&1 ||
		    [ -x "/usr/sbin/$i" ] || {
			slurm_why="no '$i' (make deps installs munge, slurm-wlm)"
			return 1
		}
	done
	if [ "$(id -u)" -ne 0 ]; then
		slurm_why="slurmd needs root"
		return 1
	fi
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	# munged refuses sockets in directories others can write
	mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
	rm -rf "${dir:?}/state/"*
	chown munge: "$dir/munge"
	chmod 0755 "$dir/munge"
	# munged wants /run/munge to exist and be its own, even when told
	# where its socket and pid file go
	mkdir -p /run/munge
	chown munge: /run/munge
	[ -r /etc/munge/munge.key ] || {
		slurm_why="no /etc/munge/munge.key"
		return 1
	}
	runuser -u munge -- /usr/sbin/munged \
	    --socket="$dir/munge/munge.sock" \
	    --pid-file="$dir/munge/munged.pid" \
	    --log-file="$dir/munge/munged.log" \
	    --seed-file="$dir/munge/munged.seed" \
	    --key-file=/etc/munge/munge.key --num-threads=2 \
	    >"$dir/log/munged.out" 2>&1 || {
		slurm_why="munged does not start: $(tail -n 1 "$dir/munge/munged.log" \
		    "$dir/log/munged.out" 2>/dev/null | grep -v '^==' | tail -n 1)"
		return 1
	}
	host=$(hostname -s)
	cpus=$(nproc)
	mem=$(awk '/MemTotal/ { print int($2 / 1024 / 2) }' /proc/meminfo)
	cport=$(slurm_port) && dport=$(slurm_port) || {
		slurm_why="no free port"
		return 1
	}
	cat > "$dir/slurm.conf" <<-EOF
	ClusterName=sluicetest
	SlurmctldHost=$host(127.0.0.1)
	SlurmctldPort=$cport
	SlurmdPort=$dport
	SlurmUser=root
	SlurmdUser=root
	AuthType=auth/munge
	AuthInfo=socket=$dir/munge/munge.sock
	CredType=cred/munge
	StateSaveLocation=$dir/state
	SlurmdSpoolDir=$dir/spool
	SlurmctldPidFile=$dir/slurmctld.pid
	SlurmdPidFile=$dir/slurmd.pid
	SlurmctldLogFile=$dir/log/slurmctld.log
	SlurmdLogFile=$dir/log/slurmd.log
	SlurmctldDebug=info
	SlurmdDebug=info
	ProctrackType=proctrack/linuxproc
	TaskPlugin=task/none
	JobAcctGatherType=jobacct_gather/linux
	JobAcctGatherFrequency=task=1
	AccountingStorageType=accounting_storage/none
	JobCompType=jobcomp/filetxt
	JobCompLoc=$dir/jobcomp.txt
	CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
	SelectType=select/cons_tres
	SelectTypeParameters=CR_CPU
	SchedulerType=sched/backfill
	SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,kill_invalid_depend
	MailProg=/bin/true
	ReturnToService=2
	MinJobAge=600
	MpiDefault=none
	NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
	PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
	EOF
	export SLURM_CONF="$dir/slurm.conf"
	/usr/sbin/slurmctld -i >"$dir/log/slurmctld.out" 2>&1 || {
		slurm_why="slurmctld does not start: $(tail -n 1 \
		    "$dir/log/slurmctld.log" 2>/dev/null)"
		return 1
	}
	/usr/sbin/slurmd -N "$host" >"$dir/log/slurmd.out" 2>&1 || {
		slurm_why="slurmd does not start: $(tail -n 1 \
		    "$dir/log/slurmd.log" 2>/dev/null)"
		return 1
	}
	# the node comes up idle in well under a second
	for i in $(seq 100); do
		case $(sinfo -h -o %t 2>/dev/null) in
		idle*) return 0 ;;
		esac
		sleep 0.1
	done
	slurm_why="the node never became idle: $(sinfo -h -o '%t %E' 2>&1 |
	    head -n 1)"
	return 1
}

slurm_stop_pidfile() {
	local f=$1 pid i
	[ -s "$f" ] || return 0
	pid=$(cat "$f")
	case $pid in
	''|*[!0-9]*) return 0 ;;
	esac
	kill -TERM "$pid" 2>/dev/null || { rm -f "$f"; return 0; }
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$f"
}

# the job step daemons of this cluster (their SLURM_CONF is ours): a job
# still running when slurmd stops leaves its slurmstepd behind, retrying
slurm_stepds() {
	local conf=$1 p
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = slurmstepd ] || continue
		tr '\0' '\n' < "$p/environ" 2>/dev/null |
		    grep -qxF "SLURM_CONF=$conf" && echo "${p#/proc/}"
	done
	return 0
}

slurm_stop() {
	local dir=$1 ids i pid
	[ -d "$dir" ] || return 0
	# jobs still out (a test that failed half-way): cancel them first,
	# so their step daemons end with them; bounded
	if [ -s "$dir/slurmctld.pid" ] && [ -s "$dir/slurm.conf" ]; then
		ids=$(SLURM_CONF="$dir/slurm.conf" squeue -h -o %i 2>/dev/null)
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086
			SLURM_CONF="$dir/slurm.conf" scancel $ids 2>/dev/null
			for i in $(seq 100); do
				[ -z "$(SLURM_CONF="$dir/slurm.conf" squeue -h \
				    -o %i 2>/dev/null)" ] && break
				sleep 0.1
			done
		fi
	fi
	slurm_stop_pidfile "$dir/slurmd.pid"
	slurm_stop_pidfile "$dir/slurmctld.pid"
	slurm_stop_pidfile "$dir/munge/munged.pid"
	for pid in $(slurm_stepds "$dir/slurm.conf"); do
		kill -TERM "$pid" 2>/dev/null || continue
		for i in $(seq 20); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
}
