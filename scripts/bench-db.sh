#!/usr/bin/env bash
# db_clone between two containers vs the floor (pg_dump -Fd -j2 -Z1 + pg_restore -j2 by hand
# between the same hosts) and dragonfab's pipeline (pg_dump | gzip to a remote file, get, put,
# dropdb/createdb, gunzip | psql). Median of RUNS each. SCALE=30 is the issue's size (~450 MB).
# Key exchange: BENCH_KEX for dfab, ssh and scp alike (see scripts/bench-lib.sh).
# Needs root and `bash scripts/setup-host`. Containers dfab-bench-db-0 and -1 at 10.0.3.230-231.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
SCALE=${SCALE:-30}; RUNS=${RUNS:-3}
bench_init bench-db
# `cd /` first: runuser keeps root's cwd, which postgres may not enter (a warning per command).
S() { ssh "${SSHO[@]}" root@"$1" "cd / && $2"; }
bench_containers dfab-bench-db 230 231
IPA=${ips[0]}; IPB=${ips[1]}
bench_show_kex "$IPA"
for ip in "$IPA" "$IPB"; do
  S "$ip" "pg_ctlcluster 15 main start && runuser -u postgres -- psql -q -c \"CREATE ROLE app LOGIN PASSWORD 'benchpw'\" -c 'CREATE DATABASE app OWNER app'"
done
echo "pgbench -i -s $SCALE on the source ..."
S "$IPA" "PGPASSWORD=benchpw pgbench -q -i -s $SCALE -h 127.0.0.1 -U app app >/dev/null 2>&1"
env_toml() { printf '[environments.%s]\n%s\n%s\ndb_name = "app"\ndb_user = "app"\ndb_password = "benchpw"\n' "$1" "$(bench_toml_hosts "$2")" "$(bench_toml_ssh)"; }
{ env_toml production "$IPA"; env_toml staging "$IPB"; } > "$WORK/dfab.toml"
dfab_clone() { (cd "$WORK" && "$DFAB" -q staging db_clone >/dev/null); }
floor() {
  S "$IPA" "rm -rf /var/tmp/fd && runuser -u postgres -- pg_dump -Fd -j2 -Z1 -f /var/tmp/fd app"
  S "$IPA" "tar -C /var/tmp -cf - fd" | S "$IPB" "rm -rf /var/tmp/fd && tar -C /var/tmp -xf - && chown -R postgres /var/tmp/fd"
  S "$IPB" "runuser -u postgres -- dropdb --if-exists floor && runuser -u postgres -- createdb -O app floor && runuser -u postgres -- pg_restore -j2 --no-owner --role=app -d floor /var/tmp/fd && rm -rf /var/tmp/fd"
  S "$IPA" "rm -rf /var/tmp/fd"
}
dragonfab() {
  S "$IPA" "runuser -u postgres -- pg_dump app | gzip > /tmp/df.sql.gz"
  scp -q "${SSHO[@]}" "root@$IPA":/tmp/df.sql.gz "$WORK/df.sql.gz"
  scp -q "${SSHO[@]}" "$WORK/df.sql.gz" "root@$IPB":/tmp/df.sql.gz
  S "$IPB" "runuser -u postgres -- dropdb --if-exists dragon && runuser -u postgres -- createdb -O app dragon && gunzip -c /tmp/df.sql.gz | runuser -u postgres -- psql -q -d dragon >/dev/null && rm -f /tmp/df.sql.gz"
  S "$IPA" "rm -f /tmp/df.sql.gz"; rm -f "$WORK/df.sql.gz"
}
# Untimed, after each run: the copy on the target has every row of the source (a failed or
# partial run stops the bench instead of giving a time).
ROWS=$((SCALE * 100000))
rows() { S "$IPB" "runuser -u postgres -- psql -tAq -d $1 -c 'SELECT count(*) FROM pgbench_accounts'"; }
check() { # db method
  local got
  got=$(rows "$1") || { echo "bench-db: $2 left no readable database $1 on the target" >&2; exit 1; }
  [ "$got" = "$ROWS" ] || { echo "bench-db: $2 copied $got rows of pgbench_accounts, not $ROWS" >&2; exit 1; }
}
declare -A DB=([dfab_clone]=app [floor]=floor [dragonfab]=dragon) W=() R=()
echo "load before: $(uptime)"
for _ in $(seq "$RUNS"); do
  for name in dfab_clone floor dragonfab; do
    t0=$(now); $name; W[$name]+="$(since "$t0") "
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
