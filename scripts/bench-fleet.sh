#!/usr/bin/env bash
# A fleet of 4 and of 16 containers behind dfab's nginx balancer: from `deb.build` to the new
# fleet serving, bluegreen (new members beside the old, one switch) against serial (one member
# at a time), each under a steady request loop (curl every 10 ms) whose failed requests are
# counted; and the switch itself (SIGHUP to the new upstream answering), as dfab prints it.
# Target: the switch under 100 ms and no failed request in any run.
# Needs root and `bash scripts/setup-host`. Members at 10.0.3.203-250 (run alone: make bench runs
# one bench at a time), the balancer on 127.0.0.1:18480.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/fleet-project.sh
source scripts/fleet-project.sh
[ "$(id -u)" = 0 ] || { echo "bench-fleet: run as root" >&2; exit 1; }
lxc-info -n dfab-test-base >/dev/null 2>&1 || { echo "bench-fleet: run \`bash scripts/setup-host\` first" >&2; exit 1; }
cargo build --release --quiet --bin dfab
DFAB=$PWD/target/release/dfab
WORK=$(mktemp -d /tmp/dfab-bench-fleet.XXXXXX)
ENV=benchfleet
LISTEN=127.0.0.1:18480
cleanup() {
  touch "$WORK/load.stop"
  (cd "$WORK/app" 2>/dev/null && "$DFAB" -y "$ENV" fleet.destroy:bakes=yes >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
echo "load before: $(uptime)"

# run WHAT COMMAND...: time a dfab run under the request loop; print wall, failures, switches.
run() {
  local what=$1; shift
  rm -f "$WORK/load.stop"
  fleet_load "http://$LISTEN/version" "$WORK/load" &
  local loader=$! t0 t1
  t0=$(date +%s.%N)
  (cd "$WORK/app" && "$DFAB" "$@") > "$WORK/out" 2>&1 || { cat "$WORK/out"; exit 1; }
  t1=$(date +%s.%N)
  touch "$WORK/load.stop"; wait "$loader"
  local total failed switches
  total=$(wc -l < "$WORK/load")
  failed=$(grep -vc '^200$' "$WORK/load" || true)
  switches=$(grep -o 'in one reload: [0-9.]* ms' "$WORK/out" | grep -o '[0-9.]*' | tr '\n' ' ')
  printf '%-28s %6.1f s   requests %4d, failed %d   switch ms: %s\n' \
    "$what" "$(echo "$t1 - $t0" | bc)" "$total" "$failed" "$switches"
}

for size in 4 16; do
  rm -rf "$WORK/app"
  fleet_project "$WORK/app" "$ENV" "$size" "$LISTEN" 203 bluegreen
  fleet_version "$WORK/app" 1.0
  (cd "$WORK/app" && "$DFAB" "$ENV" deb.build lxc.bake >/dev/null 2>&1)
  t0=$(date +%s.%N)
  (cd "$WORK/app" && "$DFAB" "$ENV" fleet.create > "$WORK/out" 2>&1) || { cat "$WORK/out"; exit 1; }
  printf '%-28s %6.1f s\n' "fleet.create ($size)" "$(echo "$(date +%s.%N) - $t0" | bc)"
  fleet_version "$WORK/app" 1.1
  run "bluegreen deploy ($size)" "$ENV" deploy
  sed -i 's/^deploy_strategy = .*/deploy_strategy = "serial"/' "$WORK/app/dfab.toml"
  fleet_version "$WORK/app" 1.2
  run "serial deploy ($size)" "$ENV" deploy
  sed -i 's/^deploy_strategy = .*/deploy_strategy = "bluegreen"/' "$WORK/app/dfab.toml"
  run "rollback ($size)" "$ENV" rollback
  (cd "$WORK/app" && "$DFAB" -y "$ENV" fleet.destroy:bakes=yes >/dev/null)
done
