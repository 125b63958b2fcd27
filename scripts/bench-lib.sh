# shellcheck shell=bash
# What scripts/bench-exec.sh, bench-deploy.sh, bench-pipeline.sh and bench-db.sh share. Sourced
# from the repository root after `set -euo pipefail`; a bench then calls `bench_init <its name>`.
#
# Containers: overlayfs snapshots of dfab-test-base, each with a static address. Every bench has
# its own addresses, disjoint from the others' and from the tests' (.100-.199) and the demo's
# (.201-.202); each script's header says which. bench_containers refuses an address a running
# container already has.
#
# Key exchange: every tool of every bench uses the same one, BENCH_KEX (default
# curve25519-sha256). That is what Fabric (paramiko) negotiates with the containers' OpenSSH 9.2,
# which has no ML-KEM; given no KexAlgorithms, OpenSSH's own client picks sntrup761x25519-sha512,
# a post-quantum hybrid that costs about 80 ms of client CPU more per connection here. dfab gets it
# through the env key `ssh_config` (bench_toml_ssh), scp and ssh through -o (SSHO); bench_show_kex
# prints what OpenSSH's client and Fabric negotiate. BENCH_KEX=default leaves dfab, scp and ssh on
# OpenSSH's default (Fabric cannot follow).
#
# Globals it sets: BENCH, BASE, KEY, DFAB, WORK, KEX, SSH_CONFIG, SSHO, names, ips; CG
# (bench_cgroup); VENV (bench_fabric); WALL, CPU, MCPU (measure).
# shellcheck disable=SC2034  # the globals are used by the scripts that source this file

BASE=dfab-test-base
KEY=/var/lib/dfab-test/id_ed25519
names=()
ips=()

# Print "<bench>: <message>" on stderr and exit 1.
bench_die() { echo "$BENCH: $*" >&2; exit 1; }

# Check root and the base container, build dfab (DFAB), make WORK, set the cleanup trap and the key exchange.
bench_init() {
  BENCH=$1
  [ "$(id -u)" = 0 ] || bench_die "run as root"
  lxc-info -n "$BASE" >/dev/null 2>&1 || bench_die "run \`bash scripts/setup-host\` first"
  cargo build --release --quiet --bin dfab
  # BENCH_DFAB: another dfab binary to measure (an A/B comparison with another checkout's).
  DFAB=${BENCH_DFAB:-$PWD/target/release/dfab}
  WORK=$(mktemp -d "/tmp/dfab-$BENCH.XXXXXX")
  trap bench_cleanup EXIT
  bench_kex
}

# EXIT trap: stop and destroy the bench's containers, remove its cgroup and WORK.
bench_cleanup() {
  local n
  bench_relay_stop
  for n in "${names[@]}"; do
    lxc-stop -k -n "$n" >/dev/null 2>&1 || true
    lxc-destroy -n "$n" >/dev/null 2>&1 || true
  done
  if [ -n "${CG:-}" ]; then rmdir "$CG" 2>/dev/null || true; fi
  rm -rf "$WORK"
}

# KEX from BENCH_KEX, written to SSH_CONFIG (for dfab) and added to SSHO (ssh and scp options).
bench_kex() {
  KEX=${BENCH_KEX:-curve25519-sha256}
  SSH_CONFIG=$WORK/ssh_config
  SSHO=(-i "$KEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
  if [ "$KEX" = default ]; then
    : > "$SSH_CONFIG"
  else
    printf 'Host *\n  KexAlgorithms %s\n' "$KEX" > "$SSH_CONFIG"
    SSHO+=(-o "KexAlgorithms=$KEX")
  fi
}

# The env keys every bench env has: root, the test key, no known_hosts, SSH_CONFIG (one per line).
bench_toml_ssh() {
  printf 'user = "root"\nssh_config = "%s"\nkey_filename = "%s"\nknown_hosts = "/dev/null"\nhost_key_checking = "accept"\n' \
    "$SSH_CONFIG" "$KEY"
}

# The env key `hosts = [...]` for the given hosts.
bench_toml_hosts() {
  local list
  list=$(printf '"%s",' "$@")
  echo "hosts = [${list%,}]"
}

# PREFIX ADDR...: containers PREFIX-0.. at 10.0.3.ADDR, started and answering ssh (names, ips);
# exits first if a running container has one of the addresses (a stopped PREFIX-N is replaced).
bench_containers() {
  local prefix=$1 lxcpath used a i n ip
  shift
  used=$(lxc-ls -f -F NAME,IPV4 | tail -n +2)
  for a in "$@"; do
    n=$(awk -v ip="10.0.3.$a" '{ for (i = 2; i <= NF; i++) { sub(",$", "", $i); if ($i == ip) print $1 } }' <<<"$used")
    [ -z "$n" ] || bench_die "10.0.3.$a is taken by the running container $n"
  done
  for i in $(seq 0 $(($# - 1))); do lxc-destroy -n "$prefix-$i" >/dev/null 2>&1 || true; done
  lxcpath=$(lxc-config lxc.lxcpath)
  i=0
  for a in "$@"; do
    n=$prefix-$i; ip=10.0.3.$a; i=$((i + 1))
    names+=("$n"); ips+=("$ip")
    # A new container has a new MAC: the host's ARP entry left by the last run at this address
    # would cost 10 to 20 s of TCP retries on the first connection.
    ip neigh flush to "$ip" 2>/dev/null || true
    lxc-copy -n "$BASE" -N "$n" -s -B overlayfs
    echo "lxc.net.0.ipv4.address = $ip/24" >> "$lxcpath/$n/config"
    lxc-start -n "$n" -d
  done
  for ip in "${ips[@]}"; do bench_wait_ssh "$ip"; done
}

# Wait (150 tries, 0.1 s apart) until sshd at IP accepts the key; exit if it never does.
bench_wait_ssh() {
  local _
  for _ in $(seq 150); do
    ssh "${SSHO[@]}" "root@$1" true 2>/dev/null && return 0
    sleep 0.1
  done
  bench_die "$1 never accepted ssh"
}

# Fabric 3 in its own venv (VENV; Debian's python3 has venv, setuptools and wheel); prints its version.
bench_fabric() {
  VENV=${BENCH_VENV:-/var/cache/dfab/bench-venv}
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import fabric' 2>/dev/null; then
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'fabric>=3,<4'
  fi
  echo "Fabric $("$VENV/bin/python" -c 'import fabric; print(fabric.__version__)')"
}

# Print KEX and the key exchange OpenSSH's client (and Fabric, after bench_fabric) negotiates with IP.
bench_show_kex() {
  local got
  got=$(ssh -v -F "$SSH_CONFIG" "${SSHO[@]}" "root@$1" true 2>&1 | sed -n 's/^debug1: kex: algorithm: //p' | head -n 1) || true
  echo "key exchange (BENCH_KEX): $KEX; OpenSSH's client (dfab, ssh, scp) negotiated ${got:-nothing}"
  [ -n "${VENV:-}" ] || return 0
  # Connected as the benches' fab.py connect; paramiko logs the agreed key exchange as "Kex: <name>".
  "$VENV/bin/python" - "$KEY" "$1" <<'PY'
import logging, sys
from fabric import Connection
class Kex(logging.Handler):
    def emit(self, r):
        m = r.getMessage()
        if m.startswith("Kex: "):
            print("Fabric's key exchange (paramiko): " + m[5:], flush=True)
log = logging.getLogger("paramiko.transport")
log.setLevel(logging.DEBUG)
log.addHandler(Kex())
c = Connection(sys.argv[2], user="root",
               connect_kwargs={"key_filename": sys.argv[1], "look_for_keys": False, "allow_agent": False})
c.open()
c.close()
PY
}

# A cpuacct cgroup (CG) for measure, removed on exit.
bench_cgroup() {
  CG=/sys/fs/cgroup/cpuacct/dfab-$BENCH-$$
  mkdir "$CG"
}

# Seconds since the epoch, with nanoseconds.
now() { date +%s.%N; }

# Seconds elapsed since T (a `now`).
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { print a - b }'; }

# Seconds of CPU the whole machine has used (user, nice, system, irq, softirq) since boot.
machine() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / { print ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat; }

# Run "$@" inside CG; sets WALL (s), CPU (s of user + sys of the whole tree) and MCPU (s of CPU
# the whole machine used meanwhile).
measure() {
  local t c0 c1 m0
  c0=$(cat "$CG/cpuacct.usage"); m0=$(machine); t=$(now)
  (echo "$BASHPID" > "$CG/cgroup.procs"; "$@")
  WALL=$(since "$t")
  c1=$(cat "$CG/cpuacct.usage")
  CPU=$(awk -v a="$c1" -v b="$c0" 'BEGIN { print (a - b) / 1e9 }')
  MCPU=$(awk -v a="$(machine)" -v b="$m0" 'BEGIN { print a - b }')
}

# The median of the numbers on stdin, one a line (the lower middle one of an even count).
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# A / B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# Relay (scripts/delay-relay.py): DELAY_MS one way, one port on 127.0.0.1 per address given,
# from BASE_PORT up; sets RELAY_PID, RELAY_STATS and relay_hosts (127.0.0.1:port each). Every
# tool is pointed through it by its host string: dfab and Fabric take `127.0.0.1:PORT` in their
# host lists, ssh and scp take `-p PORT` / `-P PORT` (or the same `ssh://root@127.0.0.1:PORT`).
# The relay stops with the bench (bench_cleanup kills it).
bench_relay() { # DELAY_MS BASE_PORT ADDR...
  local delay=$1 base=$2 i
  shift 2
  bench_relay_stop
  RELAY_STATS=$WORK/relay.json
  relay_hosts=()
  for i in $(seq 0 $(($# - 1))); do relay_hosts+=("127.0.0.1:$((base + i))"); done
  local targets=()
  for a in "$@"; do targets+=("$a:22"); done
  python3 scripts/delay-relay.py --delay-ms "$delay" --base-port "$base" --stats "$RELAY_STATS" \
    "${targets[@]}" > "$WORK/relay.out" 2>"$WORK/relay.err" &
  RELAY_PID=$!
  for _ in $(seq 100); do grep -q ready "$WORK/relay.out" 2>/dev/null && return 0; sleep 0.05; done
  cat "$WORK/relay.err" >&2
  bench_die "the delay relay did not start"
}

bench_relay_stop() {
  if [ -n "${RELAY_PID:-}" ]; then kill "$RELAY_PID" 2>/dev/null || true; wait "$RELAY_PID" 2>/dev/null || true; fi
  RELAY_PID=""
}

# Print "<conns> <turns>" per host, the medians over the relay's ports since the last call (and
# start its counters again).
bench_relay_counts() {
  rm -f "$RELAY_STATS"
  kill -USR1 "$RELAY_PID"
  for _ in $(seq 100); do [ -e "$RELAY_STATS" ] && break; sleep 0.02; done
  python3 -c '
import json, statistics, sys
s = json.load(open(sys.argv[1]))
used = [v for v in s.values() if v["conns"]]
if not used: print("0 0"); sys.exit()
print(int(statistics.median_low([v["conns"] for v in used])), int(statistics.median_low([v["turns"] for v in used])))
' "$RELAY_STATS"
}
