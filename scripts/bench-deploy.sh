#!/usr/bin/env bash
# deb.deploy of one 10 MB package (the deploy-app fixture plus a 10 MiB incompressible file,
# built by `dfab deb.build` so a build record exists) to 1, 4 and 16 containers, in the same run
# as Fabric 3's ThreadingGroup (put + dpkg -i), a serial scp + ssh loop (put + dpkg -i), and the
# floor: a parallel scp to every host at once, then `dpkg -i` in every container at once through
# lxc-attach. Medians of RUNS (default 3), ratios, and the client-side CPU time (user + sys of
# the whole process tree, ssh masters included, from a cpuacct cgroup) of dfab and Fabric.
#
# Fair start: before every timed run of every tool, each host gets `dpkg --purge deploy-app` and
# loses /var/lib/dfab/deploy-app and /root/*.deb, so dfab uploads and installs as the others do
# (no "already on the host" skip, no "already installed" no-op; no force=yes needed).
# Key exchange: BENCH_KEX for dfab, scp and ssh alike; Fabric's is printed (see scripts/bench-lib.sh).
# Needs root and `bash scripts/setup-host`. Containers dfab-bench-d-N at 10.0.3.232-247.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_init bench-deploy
RUNS=${RUNS:-3}
echo "load before: $(uptime)"
bench_fabric

# The package: the fixture plus 10 MiB of random bytes, built by dfab (so a build record exists).
proj=$WORK/app
mkdir -p "$proj"
cp -r fixtures/deploy-app/. "$proj/"
head -c 10485760 /dev/urandom > "$proj/share/payload.bin"
echo "share/payload.bin usr/share/deploy-app" >> "$proj/debian/install"
toml() { # hosts...
  printf '[environments.bench]\n%s\n%s\npackage_dir = "dist/"\n' "$(bench_toml_hosts "$@")" "$(bench_toml_ssh)"
}
toml 127.0.0.1 > "$proj/dfab.toml"
(cd "$proj" && "$DFAB" -q bench deb.build:version=1.0-1 >/dev/null)
DEB=$proj/dist/deploy-app_1.0-1_all.deb
echo "package: $(basename "$DEB"), $(stat -c %s "$DEB") bytes"

bench_containers dfab-bench-d $(seq 232 247)
bench_show_kex "${ips[0]}"

cat > "$WORK/fab.py" <<'PY'
import os, sys
from fabric import ThreadingGroup
key, deb, hosts = sys.argv[1], sys.argv[2], sys.argv[3:]
dest = "/root/" + os.path.basename(deb)
g = ThreadingGroup(*hosts, user="root",
                   connect_kwargs={"key_filename": key, "look_for_keys": False, "allow_agent": False})
g.put(deb, remote=dest)
g.run("DEBIAN_FRONTEND=noninteractive dpkg -i " + dest, hide=True)
g.close()
PY

# Untimed, on every host at once: no trace of the package (see the header).
reset() {
  local pids=() n
  for n in "${names[@]}"; do
    lxc-attach -n "$n" --clear-env -- sh -c \
      'dpkg --purge deploy-app >/dev/null 2>&1; rm -rf /var/lib/dfab/deploy-app /var/lib/deploy-app /root/*.deb' &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}
# Untimed: the first N hosts have 1.0-1 installed and configured, or the run is void.
verify() { # N tool
  local n
  for n in "${names[@]:0:$1}"; do
    local st
    st=$(lxc-attach -n "$n" --clear-env -- dpkg-query -W -f='${Version} ${db:Status-Abbrev}' deploy-app 2>/dev/null || true)
    [ "${st% }" = "1.0-1 ii" ] || { echo "bench-deploy: $2 left $n with deploy-app '$st'" >&2; exit 1; }
  done
}

# The fixture's password question has no default and gets no answer here (dpkg -i gives it none
# either): dfab's warning about it is dropped, every other message shows.
dfab_run() { (cd "$proj" && "$DFAB" -q bench deb.deploy 2>&1 >/dev/null | { grep -v 'has neither an answer' || true; } >&2); }
fabric_run() { "$VENV/bin/python" "$WORK/fab.py" "$KEY" "$DEB" "$@"; }
serial_run() {
  local ip
  for ip in "$@"; do
    scp -q "${SSHO[@]}" "$DEB" "root@$ip:/root/"
    ssh "${SSHO[@]}" "root@$ip" "DEBIAN_FRONTEND=noninteractive dpkg -i /root/$(basename "$DEB") >/dev/null"
  done
}
floor_run() { # parallel scp to every host, then dpkg -i in every container, all at once
  local pids=() ip i
  for ip in "$@"; do scp -q "${SSHO[@]}" "$DEB" "root@$ip:/root/" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
  pids=()
  for i in $(seq 0 $(($# - 1))); do
    lxc-attach -n "${names[$i]}" --clear-env -- env DEBIAN_FRONTEND=noninteractive \
      dpkg -i "/root/$(basename "$DEB")" >/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}

bench_cgroup
tools=(dfab fabric serial floor)
for n in 1 4 16; do
  toml "${ips[@]:0:$n}" > "$proj/dfab.toml"
  declare -A W=() C=()
  for _ in $(seq "$RUNS"); do
    for tool in "${tools[@]}"; do
      reset
      measure "${tool}_run" "${ips[@]:0:$n}"
      verify "$n" "$tool"
      W[$tool]+="$WALL "; C[$tool]+="$CPU "
    done
  done
  declare -A MW=() MC=()
  for tool in "${tools[@]}"; do
    MW[$tool]=$(printf '%s\n' ${W[$tool]} | median); MC[$tool]=$(printf '%s\n' ${C[$tool]} | median)
  done
  printf '%2d hosts, wall (median of %s): dfab %.2f s, Fabric %.2f s, serial %.2f s, floor %.2f s\n' \
    "$n" "$RUNS" "${MW[dfab]}" "${MW[fabric]}" "${MW[serial]}" "${MW[floor]}"
  printf '   ratios: dfab/Fabric %s, dfab/serial %s, dfab/floor %s;  CPU here: dfab %.2f s, Fabric %.2f s, dfab/Fabric %s\n' \
    "$(ratio "${MW[dfab]}" "${MW[fabric]}")" "$(ratio "${MW[dfab]}" "${MW[serial]}")" \
    "$(ratio "${MW[dfab]}" "${MW[floor]}")" "${MC[dfab]}" "${MC[fabric]}" "$(ratio "${MC[dfab]}" "${MC[fabric]}")"
  echo "   runs: dfab [${W[dfab]% }] Fabric [${W[fabric]% }] serial [${W[serial]% }] floor [${W[floor]% }]"
  unset W C MW MC
done
echo "targets for 16 hosts: dfab/Fabric <= 0.8, dfab/serial <= 0.3, dfab/floor <= 1.1, CPU dfab/Fabric <= 0.5"
echo "load after: $(uptime)"
