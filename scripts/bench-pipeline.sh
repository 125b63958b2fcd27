#!/usr/bin/env bash
# The wrapped `deploy` of a small app (fixtures/deploy-app plus a /health file) to 1 and to 16
# containers, each running nginx with dfab's maintenance snippet (the containers have no systemd,
# so nginx is started by hand, as tests/it/pipeline.rs does). The env's sequence is the
# production-style one:
#     deploy = ["deb.build", "web_mode:maintenance", "deb.deploy", "test", "web_mode:live"]
# with `test_commands = []`, so `test` is the HTTP check of health_url on each host. In the same
# run, the same steps by hand and by Fabric 3:
#   floor:  the same steps with the fewest rounds that keep the deploy's order (every host in
#           maintenance before any host installs, every host healthy before any goes live), all
#           hosts at once: scp of the .deb, then lxc-attach `touch` of the flag; lxc-attach
#           `dpkg -i && curl -f /health`; lxc-attach `rm` of the flag;
#   Fabric: ThreadingGroup run (flag on), put, run (dpkg -i), run (curl -f /health), run (flag off).
# The floor and Fabric start from the .deb dfab built untimed beforehand; in dfab's timed runs
# deb.build finds its sources unchanged (its cache hit is part of dfab's time, it is its step).
# Then the no-op deploy at 16 hosts: the same command again, nothing changed ("nothing to deploy").
# Medians of RUNS (default 3), ratios, client-side CPU (user + sys of the whole process tree,
# ssh masters included, from a cpuacct cgroup) and the whole machine's CPU (/proc/stat: the
# containers' sshd, sudo, dpkg and nginx work too; on an idle 2-core host, wall >= that / 2).
#
# Fair start: before every timed run of every tool, each host gets `dpkg --purge deploy-app`, loses
# /var/lib/dfab/deploy-app, /root/*.deb and the maintenance flag, and dfab's journal is removed, so
# every tool uploads and installs. After each run: every host has 1.0-1 installed, is live (no
# flag) and answers 200 on /health from here, or the run is void.
# Key exchange: BENCH_KEX for dfab and the floor's scp alike; Fabric's is printed (see
# scripts/bench-lib.sh).
# Needs root and `bash scripts/setup-host`. Containers dfab-bench-p-N at 10.0.3.226-229, 248-253, 203-208.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_init bench-pipeline
RUNS=${RUNS:-3}
echo "load before: $(uptime)"
bench_fabric

# The app: the fixture plus the file /health serves.
proj=$WORK/app
mkdir -p "$proj"
cp -r fixtures/deploy-app/. "$proj/"
echo ok > "$proj/share/health"
echo "share/health usr/share/deploy-app" >> "$proj/debian/install"
FLAG=/srv/app/maintenance.on
toml() { # hosts...
  cat <<EOF
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
EOF
}
toml 127.0.0.1 > "$proj/dfab.toml"
(cd "$proj" && "$DFAB" -q bench deb.build:version=1.0-1 >/dev/null)
DEB=$proj/dist/deploy-app_1.0-1_all.deb
echo "package: $(basename "$DEB"), $(stat -c %s "$DEB") bytes"

# 16 addresses no other bench, test or demo uses (bench-db has .230-.231, bench-deploy .232-.247,
# bench-exec .210-.225, the demo .201-.202, tests .100-.199); refused if a container has one.
bench_containers dfab-bench-p 226 227 228 229 248 249 250 251 252 253 203 204 205 206 207 208
bench_show_kex "${ips[0]}"
# The site, as tests/it/pipeline.rs sets it up: nginx on :80, /health from the package's file,
# dfab's maintenance snippet installed by `dfab bench init` (untimed).
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
nginx'
done
toml "${ips[@]}" > "$proj/dfab.toml"
(cd "$proj" && "$DFAB" -q bench init >"$WORK/init.log" 2>&1) || { cat "$WORK/init.log" >&2; exit 1; }

cat > "$WORK/fab.py" <<'PY'
import os, sys
from fabric import ThreadingGroup
key, deb, flag, hosts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
dest = "/root/" + os.path.basename(deb)
g = ThreadingGroup(*hosts, user="root",
                   connect_kwargs={"key_filename": key, "look_for_keys": False, "allow_agent": False})
g.run("mkdir -p %s && touch %s" % (os.path.dirname(flag), flag), hide=True)

g.put(deb, remote=dest)
g.run("DEBIAN_FRONTEND=noninteractive dpkg -i " + dest, hide=True)
g.run("curl -fsS -o /dev/null --max-time 10 http://127.0.0.1/health", hide=True)
g.run("rm -f " + flag, hide=True)
g.close()
PY

# Untimed, on every host at once: no trace of the package, live; no journal here.
reset() {
  local pids=() n
  for n in "${names[@]}"; do
    lxc-attach -n "$n" --clear-env -- sh -c \
      "dpkg --purge deploy-app >/dev/null 2>&1; rm -rf /var/lib/dfab/deploy-app /var/lib/deploy-app /root/*.deb $FLAG" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  rm -rf "$proj/.dfab/state"
}
# Untimed: the first N hosts have 1.0-1 installed and configured, are live, and answer 200.
verify() { # N tool
  local i st code
  for i in $(seq 0 $(($1 - 1))); do
    st=$(lxc-attach -n "${names[$i]}" --clear-env -- sh -c \
      "dpkg-query -W -f='\${Version} \${db:Status-Abbrev}' deploy-app 2>/dev/null; test -e $FLAG && echo ' maintenance'" || true)
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://${ips[$i]}/health" || true)
    [ "${st% }" = "1.0-1 ii" ] && [ "$code" = 200 ] ||
      { echo "bench-pipeline: $2 left ${names[$i]} with deploy-app '$st', /health $code" >&2; exit 1; }
  done
}

# The fixture's password question has no default and gets no answer here (dpkg -i gives it none
# either): dfab's warning about it is dropped, every other message shows.
dfab_run() { (cd "$proj" && "$DFAB" -q bench deploy 2>&1 >"$WORK/out" | { grep -v 'has neither an answer' || true; } >&2); }
journal_status() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$proj/.dfab/state/bench.json"; }
journal_is() { [ "$(journal_status)" = "$1" ]; }
fabric_run() { "$VENV/bin/python" "$WORK/fab.py" "$KEY" "$DEB" "$FLAG" "$@"; }
floor_run() { # three rounds, each on every host at once (see the header)
  local pids=() i
  in_all() { # command... : lxc-attach on hosts 0..N-1 at once
    local pids=() i
    for i in $(seq 0 $((N - 1))); do lxc-attach -n "${names[$i]}" --clear-env -- "$@" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p"; done
  }
  N=$#
  for i in $(seq 0 $((N - 1))); do
    { scp -q "${SSHO[@]}" "$DEB" "root@${ips[$i]}:/root/" &&
      lxc-attach -n "${names[$i]}" --clear-env -- sh -c "mkdir -p ${FLAG%/*} && touch $FLAG"; } &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  in_all sh -c "DEBIAN_FRONTEND=noninteractive dpkg -i /root/$(basename "$DEB") >/dev/null &&
    curl -fsS -o /dev/null --max-time 10 http://127.0.0.1/health"
  in_all rm -f "$FLAG"
}

bench_cgroup
tools=(dfab fabric floor)
for n in 1 16; do
  toml "${ips[@]:0:$n}" > "$proj/dfab.toml"
  declare -A W=() C=() M=()
  for _ in $(seq "$RUNS"); do
    for tool in "${tools[@]}"; do
      reset
      measure "${tool}_run" "${ips[@]:0:$n}"
      verify "$n" "$tool"
      if [ "$tool" = dfab ] && ! journal_is done; then
        echo "bench-pipeline: dfab's journal says '$(journal_status)' after a full deploy" >&2; exit 1
      fi
      W[$tool]+="$WALL "; C[$tool]+="$CPU "; M[$tool]+="$MCPU "
    done
  done
  declare -A MW=() MC=() MM=()
  for tool in "${tools[@]}"; do
    MW[$tool]=$(printf '%s\n' ${W[$tool]} | median); MC[$tool]=$(printf '%s\n' ${C[$tool]} | median)
    MM[$tool]=$(printf '%s\n' ${M[$tool]} | median)
  done
  printf '%2d hosts, deploy wall (median of %s): dfab %.2f s, Fabric %.2f s, floor %.2f s\n' \
    "$n" "$RUNS" "${MW[dfab]}" "${MW[fabric]}" "${MW[floor]}"
  printf '   ratios: dfab/floor %s, dfab/Fabric %s;  CPU here: dfab %.2f s, Fabric %.2f s, floor %.2f s\n' \
    "$(ratio "${MW[dfab]}" "${MW[floor]}")" "$(ratio "${MW[dfab]}" "${MW[fabric]}")" \
    "${MC[dfab]}" "${MC[fabric]}" "${MC[floor]}"
  printf '   whole machine CPU: dfab %.2f s, Fabric %.2f s, floor %.2f s\n' "${MM[dfab]}" "${MM[fabric]}" "${MM[floor]}"
  echo "   runs: dfab [${W[dfab]% }] Fabric [${W[fabric]% }] floor [${W[floor]% }]"
  unset W C M MW MC MM
done

# The no-op deploy at 16 hosts: the last timed run above was Fabric's or the floor's, so one
# untimed dfab deploy first; then the same command again, each run checked to install nothing.
reset
dfab_run
verify 16 dfab
journal_is done || { echo "bench-pipeline: dfab's journal says '$(journal_status)' after a full deploy" >&2; exit 1; }
NOOP="" NOOPM=""
for _ in $(seq "$RUNS"); do
  measure dfab_run "${ips[@]}"
  journal_is 'nothing to deploy' || { echo "bench-pipeline: the second deploy was not a no-op (journal: '$(journal_status)')" >&2; exit 1; }
  verify 16 dfab-noop
  NOOP+="$WALL "; NOOPM+="$MCPU "
done
printf '16 hosts, no-op deploy (median of %s): %.2f s (whole machine CPU %.2f s)  runs [%s]\n' "$RUNS" \
  "$(printf '%s\n' $NOOP | median)" "$(printf '%s\n' $NOOPM | median)" "${NOOP% }"
echo "targets for 16 hosts: dfab/floor <= 1.2, dfab/Fabric < 1.0, no-op <= 1.5 s"
echo "load after: $(uptime)"
