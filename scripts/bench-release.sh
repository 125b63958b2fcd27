#!/usr/bin/env bash
# rollback in release mode (install_mode = 'release': a `current` symlink switch and a restart)
# against rollback in dpkg mode (a reinstall of the kept .deb) for fixtures/deploy-app on one
# container: two versions deployed, then RUNS (default 5) timed rollbacks each way, alternating
# the two versions (each rollback goes back to the release before). Medians and the ratio (target
# ≤ 0.1). Not djdemo yet: djdemo's postinst (user, PostgreSQL role, nginx site) needs release
# setup commands that are not written; a djdemo dpkg rollback also re-runs pip, so its ratio would
# be smaller than this one.
# Needs root and `bash scripts/setup-host`. Container dfab-bench-r-0 at 10.0.3.229.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_init bench-release
RUNS=${RUNS:-5}
bench_containers dfab-bench-r 229
ip=${ips[0]}

proj=$WORK/app
mkdir -p "$proj"
cp -r fixtures/deploy-app/. "$proj/"
env_toml() { # name extra...
  printf '[environments.%s]\n%s\n%s\npackage_dir = "dist/"\npackage_name = "deploy-app"\n' \
    "$1" "$(bench_toml_hosts "$ip")" "$(bench_toml_ssh)"
  shift
  printf '%s\n' "$@"
}
{
  env_toml dpkg
  env_toml rel 'install_mode = "release"' 'release_setup_commands = ["true"]' 'release_start_command = "true"'
} > "$proj/dfab.toml"
for v in 1.0-1 2.0-1; do
  echo "${v%-*}" > "$proj/share/VERSION"
  (cd "$proj" && "$DFAB" -q dpkg deb.build:version=$v >/dev/null)
  (cd "$proj" && "$DFAB" -q -y dpkg deb.deploy:allow_downgrade=yes >/dev/null)
  (cd "$proj" && "$DFAB" -q rel deb.deploy >/dev/null)
done

timed() { # env task
  local t
  t=$(now)
  (cd "$proj" && "$DFAB" -q -y "$1" "$2" >/dev/null) || bench_die "$1 $2 failed"
  since "$t"
}
# dpkg mode's plain rollback stops at the first release of the history: name the version, each
# run the other one. Release mode's rollback target swaps with current at each switch.
dpkg_times=() rel_times=() v=1.0-1
for _ in $(seq "$RUNS"); do
  dpkg_times+=("$(timed dpkg "rollback:version=$v")")
  rel_times+=("$(timed rel rollback)")
  if [ "$v" = 1.0-1 ]; then v=2.0-1; else v=1.0-1; fi
done
d=$(printf '%s\n' "${dpkg_times[@]}" | median)
r=$(printf '%s\n' "${rel_times[@]}" | median)
echo "rollback, dpkg mode (reinstall):        median ${d} s  (${dpkg_times[*]})"
echo "rollback, release mode (symlink switch): median ${r} s  (${rel_times[*]})"
echo "release / dpkg: $(ratio "$r" "$d") (target <= 0.1)"
