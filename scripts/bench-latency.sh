#!/usr/bin/env bash
# Fan-out through a network's round trips: every tool reaches every host through
# scripts/delay-relay.py (one loopback port per container's sshd, each chunk held RTT/2 in each
# direction, the TCP handshake one round trip), since this kernel has no netem. For each round
# trip in RTTS (default "20 80" ms) and host count in HOSTS (default "1 16"; "1 16 64" for the
# fleet-sized run), in the same run:
#   deb.deploy of a 10 MB package: dfab `deb.deploy`; Fabric 3 ThreadingGroup put + dpkg -i;
#     the floor: one ssh login per host (a master) and one session that takes the .deb on stdin
#     and installs it, every host at once;
#   the wrapped deploy of bench-pipeline.sh (maintenance, deb.deploy, health test, live):
#     dfab `deploy`; Fabric run/put/run/run/run; the floor: one login per host and three sessions,
#     each round on every host at once (.deb in + flag on; dpkg -i + health; flag off);
#   the no-op deploy (dfab only, nothing changed since its last deploy).
# Medians of RUNS (default 3), ratios, and, counted at the relay, the TCP connections and the
# request/response turns per host (median over hosts) each tool used.
# Fair start: before every timed run, every host loses the package, its state, the .deb and the
# flag (lxc-attach, untimed); after each run every host must have 1.0-1 installed and be live.
# Key exchange: BENCH_KEX for dfab and ssh; Fabric's is printed (scripts/bench-lib.sh).
# Needs root and `bash scripts/setup-host`. Containers dfab-bench-l-N at 10.0.3.2 up; relay ports
# 41000 up on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_init bench-latency
RUNS=${RUNS:-3}
read -r -a RTTS <<<"${RTTS:-20 80}"
read -r -a HOSTS <<<"${HOSTS:-1 16}"
MAXH=$(printf '%s\n' "${HOSTS[@]}" | sort -n | tail -n 1)
echo "load before: $(uptime)"
bench_fabric

FLAG=/srv/app/maintenance.on
# Two projects: the wrapped deploy's small app (bench-pipeline.sh's) and the 10 MB package.
small=$WORK/small big=$WORK/big
for p in "$small" "$big"; do mkdir -p "$p"; cp -r fixtures/deploy-app/. "$p/"; done
echo ok > "$small/share/health"
echo "share/health usr/share/deploy-app" >> "$small/debian/install"
head -c 10485760 /dev/urandom > "$big/share/payload.bin"
echo "share/payload.bin usr/share/deploy-app" >> "$big/debian/install"
toml() { # hosts...
  cat <<TOML
[environments.bench]
$(bench_toml_hosts "$@")
$(bench_toml_ssh)
package_dir = "dist/"
package_name = "deploy-app"
remote_path = "/srv/app/"
app_user = "root"
maintenance = "always"
maintenance_allow = ["/health"]
health_url = "http://127.0.0.1/health"
health_timeout = 10
test_commands = []
deploy = ["deb.build", "web_mode:maintenance", "deb.deploy", "test", "web_mode:live"]
TOML
}
for p in "$small" "$big"; do
  toml 127.0.0.1 > "$p/dfab.toml"
  (cd "$p" && "$DFAB" -q bench deb.build:version=1.0-1 >/dev/null)
done
SDEB=$small/dist/deploy-app_1.0-1_all.deb BDEB=$big/dist/deploy-app_1.0-1_all.deb
echo "packages: wrapped deploy $(stat -c %s "$SDEB") bytes, deb.deploy $(stat -c %s "$BDEB") bytes"

# Static addresses from 10.0.3.2 up: lxc-net's DHCP range, which no bench, test or demo sets
# statically (the test base takes no lease); bench_containers refuses one a running container has.
[ "$MAXH" -le 64 ] || bench_die "at most 64 hosts (10.0.3.2-65)"
bench_containers dfab-bench-l $(seq 2 $((MAXH + 1)))
bench_show_kex "${ips[0]}"
for n in "${names[@]}"; do
  lxc-attach -n "$n" --clear-env -- sh -c 'set -e; mkdir -p /srv/www; echo app-ok > /srv/www/index.html
cat > /etc/nginx/sites-enabled/default <<SITE
server {
    listen 80 default_server;
    include /etc/nginx/snippets/dfab-*.conf;
    root /srv/www;
    location = /health { alias /usr/share/deploy-app/health; }
}
SITE
nginx' &
done
wait
# dfab's maintenance snippet on every host, straight to the containers (untimed, no relay).
toml "${ips[@]}" > "$small/dfab.toml"
(cd "$small" && "$DFAB" -q bench init >"$WORK/init.log" 2>&1) || { cat "$WORK/init.log" >&2; exit 1; }

cat > "$WORK/fab.py" <<'PY'
import os, sys
from fabric import ThreadingGroup
mode, key, deb, flag, hosts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
dest = "/root/" + os.path.basename(deb)
g = ThreadingGroup(*hosts, user="root",
                   connect_kwargs={"key_filename": key, "look_for_keys": False, "allow_agent": False})
if mode == "pipeline":
    g.run("mkdir -p %s && touch %s" % (os.path.dirname(flag), flag), hide=True)
g.put(deb, remote=dest)
g.run("DEBIAN_FRONTEND=noninteractive dpkg -i " + dest, hide=True)
if mode == "pipeline":
    g.run("curl -fsS -o /dev/null --max-time 10 http://127.0.0.1/health", hide=True)
    g.run("rm -f " + flag, hide=True)
g.close()
PY

# `wait` alone would wait for the relay too: each fan-out waits for its own jobs.
pids=()
waitall() { local p; for p in "${pids[@]}"; do wait "$p"; done; pids=(); }

reset() { # N: the first N hosts lose every trace of the package (see the header)
  local i
  for i in $(seq 0 $(($1 - 1))); do
    lxc-attach -n "${names[$i]}" --clear-env -- sh -c \
      "dpkg --purge deploy-app >/dev/null 2>&1; rm -rf /var/lib/dfab/deploy-app /var/lib/deploy-app /root/*.deb $FLAG" & pids+=($!)
  done
  waitall
  rm -rf "$small/.dfab/state" "$big/.dfab/state"
}
verify() { # N tool
  local i st
  for i in $(seq 0 $(($1 - 1))); do
    st=$(lxc-attach -n "${names[$i]}" --clear-env -- sh -c \
      "dpkg-query -W -f='\${Version} \${db:Status-Abbrev}' deploy-app 2>/dev/null; test -e $FLAG && echo ' maintenance'" || true)
    [ "${st% }" = "1.0-1 ii" ] || bench_die "$2 left ${names[$i]} with deploy-app '$st'"
  done
}

quiet_dfab() { # dir task: the fixture's unanswered password question is the only warning dropped
  (cd "$1" && "$DFAB" -q bench "$2" 2>&1 >"$WORK/out" | { grep -v 'has neither an answer' || true; } >&2)
}
dfab_deb() { quiet_dfab "$big" deb.deploy; }
dfab_pipeline() { quiet_dfab "$small" deploy; }
fabric_deb() { "$VENV/bin/python" "$WORK/fab.py" deb "$KEY" "$BDEB" "$FLAG" "$@"; }
fabric_pipeline() { "$VENV/bin/python" "$WORK/fab.py" pipeline "$KEY" "$SDEB" "$FLAG" "$@"; }

# The floor: one master per host (the login), then sessions over it, each round on every host
# at once before the next round starts.
floor_login() { # hosts...
  local h
  for h in "$@"; do
    ssh "${SSHO[@]}" -o ControlMaster=yes -o ControlPath="$WORK/cm-%p" -o ControlPersist=yes \
      -fN -p "${h##*:}" root@127.0.0.1 & pids+=($!)
  done
  waitall
}
floor_session() { # host command [stdin file]
  ssh "${SSHO[@]}" -o ControlPath="$WORK/cm-%p" -p "${1##*:}" root@127.0.0.1 "$2" < "${3:-/dev/null}"
}
floor_logout() {
  local h
  for h in "$@"; do ssh -o ControlPath="$WORK/cm-%p" -p "${h##*:}" -O exit root@127.0.0.1 2>/dev/null || true; done
}
floor_deb() {
  local h d
  d=/root/$(basename "$BDEB")
  floor_login "$@"
  for h in "$@"; do floor_session "$h" "cat > $d && DEBIAN_FRONTEND=noninteractive dpkg -i $d >/dev/null" "$BDEB" & pids+=($!); done
  waitall
  floor_logout "$@"
}
floor_pipeline() {
  local h d
  d=/root/$(basename "$SDEB")
  floor_login "$@"
  for h in "$@"; do floor_session "$h" "cat > $d && mkdir -p ${FLAG%/*} && touch $FLAG" "$SDEB" & pids+=($!); done
  waitall
  for h in "$@"; do floor_session "$h" "DEBIAN_FRONTEND=noninteractive dpkg -i $d >/dev/null &&
    curl -fsS -o /dev/null --max-time 10 http://127.0.0.1/health" & pids+=($!); done
  waitall
  for h in "$@"; do floor_session "$h" "rm -f $FLAG" & pids+=($!); done
  waitall
  floor_logout "$@"
}

bench_cgroup
tools=(dfab fabric floor)
for rtt in "${RTTS[@]}"; do
  bench_relay "$(awk -v r="$rtt" 'BEGIN { print r / 2 }')" 41000 "${ips[@]}"
  for n in "${HOSTS[@]}"; do
    hs=("${relay_hosts[@]:0:$n}")
    for p in "$small" "$big"; do toml "${hs[@]}" > "$p/dfab.toml"; done
    for work in deb pipeline; do
      declare -A W=() C=() T=() K=()
      for _ in $(seq "$RUNS"); do
        for tool in "${tools[@]}"; do
          reset "$n"
          bench_relay_counts >/dev/null
          measure "${tool}_$work" "${hs[@]}"
          read -r conns turns < <(bench_relay_counts)
          verify "$n" "$tool $work"
          W[$tool]+="$WALL "; C[$tool]+="$CPU "; T[$tool]+="$turns "; K[$tool]+="$conns "
        done
      done
      declare -A MW=() MC=() MT=() MK=()
      for tool in "${tools[@]}"; do
        MW[$tool]=$(printf '%s\n' ${W[$tool]} | median); MC[$tool]=$(printf '%s\n' ${C[$tool]} | median)
        MT[$tool]=$(printf '%s\n' ${T[$tool]} | median); MK[$tool]=$(printf '%s\n' ${K[$tool]} | median)
      done
      name=$([ "$work" = deb ] && echo "deb.deploy 10 MB" || echo "wrapped deploy")
      printf '%3s ms rtt, %2d hosts, %-16s (median of %s): dfab %.2f s, Fabric %.2f s, floor %.2f s; dfab/Fabric %s, dfab/floor %s\n' \
        "$rtt" "$n" "$name" "$RUNS" "${MW[dfab]}" "${MW[fabric]}" "${MW[floor]}" \
        "$(ratio "${MW[dfab]}" "${MW[fabric]}")" "$(ratio "${MW[dfab]}" "${MW[floor]}")"
      printf '      per host at the relay: connections dfab %s, Fabric %s, floor %s; turns dfab %s, Fabric %s, floor %s;  CPU here: dfab %.2f s, Fabric %.2f s, floor %.2f s\n' \
        "${MK[dfab]}" "${MK[fabric]}" "${MK[floor]}" "${MT[dfab]}" "${MT[fabric]}" "${MT[floor]}" \
        "${MC[dfab]}" "${MC[fabric]}" "${MC[floor]}"
      echo "      runs: dfab [${W[dfab]% }] Fabric [${W[fabric]% }] floor [${W[floor]% }]"
      unset W C T K MW MC MT MK
    done
    # The no-op deploy: one untimed deploy, then the same command again, each run a no-op.
    reset "$n"; dfab_pipeline; verify "$n" dfab
    NOOP="" NT=""
    for _ in $(seq "$RUNS"); do
      bench_relay_counts >/dev/null
      measure dfab_pipeline
      read -r _ turns < <(bench_relay_counts)
      st=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$small/.dfab/state/bench.json")
      [ "$st" = "nothing to deploy" ] || bench_die "the no-op deploy was not a no-op (journal: '$st')"
      NOOP+="$WALL "; NT+="$turns "
    done
    printf '%3s ms rtt, %2d hosts, no-op deploy (median of %s): dfab %.2f s, %s turns per host  runs [%s]\n' \
      "$rtt" "$n" "$RUNS" "$(printf '%s\n' $NOOP | median)" "$(printf '%s\n' $NT | median)" "${NOOP% }"
  done
done
echo "targets: wrapped deploy at 16 hosts (20 and 80 ms) <= 0.8x Fabric and <= 1.2x the floor; at 64 hosts <= 0.8x Fabric;"
echo "         deb.deploy at 16 hosts, 20 ms <= 0.8x Fabric; the no-op deploy at 16 hosts, 20 ms <= 1.0 s"
echo "load after: $(uptime)"
