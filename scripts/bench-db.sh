#!/usr/bin/env bash
# db_clone between two containers vs the floor (pg_dump -Fd -j2 -Z1 + pg_restore -j2 by hand
# between the same hosts) and dragonfab's pipeline (pg_dump | gzip to a remote file, get, put,
# dropdb/createdb, gunzip | psql). Median of RUNS each. SCALE=30 is the issue's size (~450 MB).
# Needs root and `bash scripts/setup-host`.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${SCALE:-30}; RUNS=${RUNS:-3}
[ "$(id -u)" = 0 ] || { echo "bench-db: run as root" >&2; exit 1; }
lxc-info -n dfab-test-base >/dev/null 2>&1 || { echo "bench-db: run \`bash scripts/setup-host\` first" >&2; exit 1; }
cargo build --release --quiet --bin dfab
DFAB=$PWD/target/release/dfab
KEY=/var/lib/dfab-test/id_ed25519
A=dfab-bench-db-$$-a; B=dfab-bench-db-$$-b; IPA=10.0.3.230; IPB=10.0.3.231
WORK=$(mktemp -d)
cleanup() { for n in $A $B; do lxc-stop -k -n $n >/dev/null 2>&1 || true; lxc-destroy -n $n >/dev/null 2>&1 || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
# `cd /` first: runuser keeps root's cwd, which postgres may not enter (a warning per command).
S() { ssh -i $KEY -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@"$1" "cd / && $2"; }
up() {
  lxc-copy -n dfab-test-base -N "$1" -s -B overlayfs
  echo "lxc.net.0.ipv4.address = $2/24" >> "$(lxc-config lxc.lxcpath)/$1/config"
  lxc-start -n "$1" -d
  for _ in $(seq 100); do S "$2" true 2>/dev/null && break; sleep 0.1; done
  S "$2" "pg_ctlcluster 15 main start && runuser -u postgres -- psql -q -c \"CREATE ROLE app LOGIN PASSWORD 'benchpw'\" -c 'CREATE DATABASE app OWNER app'"
}
up $A $IPA; up $B $IPB
echo "pgbench -i -s $SCALE on the source ..."
S $IPA "PGPASSWORD=benchpw pgbench -q -i -s $SCALE -h 127.0.0.1 -U app app >/dev/null 2>&1"
env_toml() { printf '[environments.%s]\nhosts = ["%s"]\nuser = "root"\nkey_filename = "%s"\nknown_hosts = "/dev/null"\nhost_key_checking = "accept"\ndb_name = "app"\ndb_user = "app"\ndb_password = "benchpw"\n' "$1" "$2" "$KEY"; }
{ env_toml production $IPA; env_toml staging $IPB; } > "$WORK/dfab.toml"
SSHOPT="-i $KEY -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
dfab_clone() { (cd "$WORK" && "$DFAB" -q staging db_clone >/dev/null); }
floor() {
  S $IPA "rm -rf /var/tmp/fd && runuser -u postgres -- pg_dump -Fd -j2 -Z1 -f /var/tmp/fd app"
  S $IPA "tar -C /var/tmp -cf - fd" | S $IPB "rm -rf /var/tmp/fd && tar -C /var/tmp -xf - && chown -R postgres /var/tmp/fd"
  S $IPB "runuser -u postgres -- dropdb --if-exists floor && runuser -u postgres -- createdb -O app floor && runuser -u postgres -- pg_restore -j2 --no-owner --role=app -d floor /var/tmp/fd && rm -rf /var/tmp/fd"
  S $IPA "rm -rf /var/tmp/fd"
}
dragonfab() {
  S $IPA "runuser -u postgres -- pg_dump app | gzip > /tmp/df.sql.gz"
  scp -q $SSHOPT root@$IPA:/tmp/df.sql.gz "$WORK/df.sql.gz"
  scp -q $SSHOPT "$WORK/df.sql.gz" root@$IPB:/tmp/df.sql.gz
  S $IPB "runuser -u postgres -- dropdb --if-exists dragon && runuser -u postgres -- createdb -O app dragon && gunzip -c /tmp/df.sql.gz | runuser -u postgres -- psql -q -d dragon >/dev/null && rm -f /tmp/df.sql.gz"
  S $IPA "rm -f /tmp/df.sql.gz"; rm -f "$WORK/df.sql.gz"
}
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Untimed, after each run: the copy on the target has every row of the source (a failed or
# partial run stops the bench instead of giving a time).
ROWS=$((SCALE * 100000))
rows() { S $IPB "runuser -u postgres -- psql -tAq -d $1 -c 'SELECT count(*) FROM pgbench_accounts'"; }
check() { # db method
  local got
  got=$(rows "$1") || { echo "bench-db: $2 left no readable database $1 on the target" >&2; exit 1; }
  [ "$got" = "$ROWS" ] || { echo "bench-db: $2 copied $got rows of pgbench_accounts, not $ROWS" >&2; exit 1; }
}
declare -A DB=([dfab_clone]=app [floor]=floor [dragonfab]=dragon) W=() R=()
echo "load before: $(uptime)"
for _ in $(seq "$RUNS"); do
  for name in dfab_clone floor dragonfab; do
    t0=$(now); $name; W[$name]+="$(awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }') "
    check "${DB[$name]}" $name
  done
done
for name in dfab_clone floor dragonfab; do
  R[$name]=$(printf '%s\n' ${W[$name]} | median)
  printf '%-12s median %6.2f s (%s runs, scale %s: %s)\n' "$name" "${R[$name]}" "$RUNS" "$SCALE" "${W[$name]% }"
done
printf 'db_clone / floor     = %.2f (target <= 1.1)\n' "$(echo "${R[dfab_clone]} / ${R[floor]}" | bc -l)"
printf 'db_clone / dragonfab = %.2f (target <= 0.7)\n' "$(echo "${R[dfab_clone]} / ${R[dragonfab]}" | bc -l)"
echo "load after: $(uptime)"
