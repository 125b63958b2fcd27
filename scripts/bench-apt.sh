#!/usr/bin/env bash
# deploy_strategy = 'apt' against the push strategy: `dfab deb.deploy` of one 10 MB package (the
# deploy-app fixture plus 10 MiB of incompressible bytes) to 16 and 64 containers, each tool in
# the same run. Push: dfab streams the .deb to every host over ssh. APT: the build is published
# once into a signed aptly repository (`deb.publish`, timed on its own) that nginx serves on the
# bridge, and every host fetches it (`apt-get update` of that source alone, `apt-get install`).
# Medians of RUNS (default 3) of: wall time, client CPU (user + sys of dfab's whole process tree,
# ssh masters included, from a cpuacct cgroup), and bytes sent from this machine, counted by
# iptables: to the containers' sshd (what the operator sends) and from nginx (what the
# repository sends; on a real fleet another machine).
#
# Fair start: before every timed run, each host loses deploy-app (purged), /var/lib/dfab/deploy-app,
# apt's cached .deb and the lists of the bench's source, so each run uploads (push) or fetches
# the indices and the package (APT) afresh, as after a new publish.
# Two links: the bridge as it is (this machine's memory speed), and an operator's uplink of
# BENCH_APT_UPLINK (default 100mbit; `none` skips it): an HTB class on lxcbr0 that carries only
# this machine's ssh traffic to the bench's subnet (its sshd port), so the operator's uploads
# share that rate while the repository's answers and everyone else's traffic on the bridge go
# unshaped (a default class of 10gbit). The qdisc is removed on exit, and the bench refuses to
# start if lxcbr0 has a qdisc of someone else's. BENCH_APT_BRIDGE=0 skips the bridge's runs.
# Addresses: 64 containers do not fit in 10.0.3.0/24 beside the tests and the other benches, so
# this bench adds 10.0.4.1/24 to lxcbr0 (removed on exit if it added it) and gives its containers
# dfab-bench-a-N the addresses 10.0.4.10 and up. Sizes: BENCH_APT_SIZES (default "16 64").
# Needs root and `bash scripts/setup-host` (aptly, gnupg, nginx).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_init bench-apt
RUNS=${RUNS:-3}
SIZES=${BENCH_APT_SIZES:-16 64}
NET=10.0.4
PORT=${BENCH_APT_PORT:-18080}
UPLINK=${BENCH_APT_UPLINK:-100mbit}
echo "load before: $(uptime)"
command -v aptly >/dev/null || bench_die "aptly is missing: run \`bash scripts/setup-host\`"

added_addr=0
shaped=0
cleanup() {
  if [ "$shaped" = 1 ]; then tc qdisc del dev lxcbr0 root 2>/dev/null || true; fi
  if [ -f "$WORK/nginx/nginx.pid" ]; then kill "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true; fi
  while iptables -D OUTPUT -d "$NET.0/24" -p tcp --dport 22 -m comment --comment dfab-bench-apt-ssh -j ACCEPT 2>/dev/null; do :; done
  while iptables -D OUTPUT -d "$NET.0/24" -p tcp --sport "$PORT" -m comment --comment dfab-bench-apt-http -j ACCEPT 2>/dev/null; do :; done
  bench_cleanup
  if [ "$added_addr" = 1 ]; then ip addr del "$NET.1/24" dev lxcbr0 2>/dev/null || true; fi
}
trap cleanup EXIT
if ! ip -4 addr show dev lxcbr0 | grep -q "inet $NET.1/24"; then
  ip addr add "$NET.1/24" dev lxcbr0
  added_addr=1
fi
iptables -I OUTPUT -d "$NET.0/24" -p tcp --dport 22 -m comment --comment dfab-bench-apt-ssh -j ACCEPT
iptables -I OUTPUT -d "$NET.0/24" -p tcp --sport "$PORT" -m comment --comment dfab-bench-apt-http -j ACCEPT
# Bytes counted so far by the rule with this comment.
counted() { iptables -L OUTPUT -v -x -n | awk -v c="$1" '$0 ~ "/\\* " c " \\*/" { print $2 }'; }

# The repository and its web server.
REPO=$WORK/repo
mkdir -p "$REPO" "$WORK/nginx"
# nginx's workers run as nobody: they must reach the repository (the key's directory stays 0700).
chmod 0755 "$WORK"
cat > "$WORK/nginx/nginx.conf" <<CONF
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
worker_processes 1;
events {}
http {
  access_log off;
  client_body_temp_path $WORK/nginx/cb; proxy_temp_path $WORK/nginx/p; fastcgi_temp_path $WORK/nginx/f;
  uwsgi_temp_path $WORK/nginx/u; scgi_temp_path $WORK/nginx/s;
  server { listen $NET.1:$PORT; root $REPO; location ~ /\. { deny all; } }
}
CONF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"

# The package: the fixture plus 10 MiB of random bytes, built by dfab (so a build record exists).
proj=$WORK/app
mkdir -p "$proj"
cp -r fixtures/deploy-app/. "$proj/"
head -c 10485760 /dev/urandom > "$proj/share/payload.bin"
echo "share/payload.bin usr/share/deploy-app" >> "$proj/debian/install"
toml() { # hosts...
  local hosts ssh
  hosts=$(bench_toml_hosts "$@"); ssh=$(bench_toml_ssh)
  printf '[environments.push]\n%s\n%s\npackage_dir = "dist/"\n\n' "$hosts" "$ssh"
  printf '[environments.apt]\n%s\n%s\npackage_dir = "dist/"\ndeploy_strategy = "apt"\napt_repo = "%s"\napt_url = "http://%s.1:%s/"\napt_signing_key = "keys/apt.key"\nremote_path = "/srv/app/"\napp_user = "app"\nmaintenance_check_url = false\n' \
    "$hosts" "$ssh" "$REPO" "$NET" "$PORT"
}
toml 127.0.0.1 > "$proj/dfab.toml"
(cd "$proj" && "$DFAB" -q push deb.build:version=1.0-1 >/dev/null && "$DFAB" -q apt apt.keygen >/dev/null)
DEB=$proj/dist/deploy-app_1.0-1_all.deb
SIZE=$(stat -c %s "$DEB")
echo "package: $(basename "$DEB"), $SIZE bytes"
t=$(now)
(cd "$proj" && "$DFAB" apt deb.publish)
echo "deb.publish (aptly add, snapshot, signed publish): $(since "$t") s"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$NET.1:$PORT/dists/apt/InRelease") || true
[ "$code" = 200 ] || bench_die "nginx answers $code for the repository's InRelease (see $WORK/nginx/error.log)"

# Containers in the bench's subnet (bench_containers knows only 10.0.3.0/24).
max=0
for n in $SIZES; do [ "$n" -gt "$max" ] && max=$n; done
lxcpath=$(lxc-config lxc.lxcpath)
for i in $(seq 0 $((max - 1))); do
  n=dfab-bench-a-$i; ip=$NET.$((10 + i))
  lxc-destroy -n "$n" >/dev/null 2>&1 || true
  names+=("$n"); ips+=("$ip")
  ip neigh flush to "$ip" 2>/dev/null || true
  lxc-copy -n "$BASE" -N "$n" -s -B overlayfs
  printf 'lxc.net.0.ipv4.address = %s/24\nlxc.net.0.ipv4.gateway = %s.1\n' "$ip" "$NET" >> "$lxcpath/$n/config"
  lxc-start -n "$n" -d
done
for ip in "${ips[@]}"; do bench_wait_ssh "$ip"; done
bench_show_kex "${ips[0]}"

# On every host at once: $1 (a shell command) by lxc-attach, untimed.
everywhere() {
  local pids=() n
  for n in "${names[@]}"; do
    lxc-attach -n "$n" --clear-env -- sh -c "$1" >/dev/null 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}
# `init` reloads the web server after installing its snippet: each host runs nginx.
everywhere 'nginx'
reset() {
  everywhere "dpkg --purge deploy-app; rm -rf /var/lib/dfab/deploy-app /var/lib/deploy-app /var/cache/apt/archives/deploy-app_*.deb; rm -f /var/lib/apt/lists/${NET}.1*"
}
verify() { # N tool
  local n st
  for n in "${names[@]:0:$1}"; do
    # shellcheck disable=SC2016 # dpkg-query's own ${...} fields
    st=$(lxc-attach -n "$n" --clear-env -- dpkg-query -W -f='${Version} ${db:Status-Abbrev}' deploy-app 2>/dev/null || true)
    [ "${st% }" = "1.0-1 ii" ] || bench_die "$2 left $n with deploy-app '$st'"
  done
}
# dfab's output is kept in a file and shown only when it fails.
run_env() { # env
  (cd "$proj" && "$DFAB" "$1" deb.deploy >"$WORK/out" 2>&1) ||
    { grep -v 'has neither an answer' "$WORK/out" >&2; bench_die "$1: deb.deploy failed"; }
}
push_run() { run_env push; }
apt_run() { run_env apt; }

# The operator's uplink (see the header): on for the runs that name it.
shape() { # on|off
  if [ "$1" = on ]; then
    tc qdisc show dev lxcbr0 | grep -q '^qdisc noqueue' || bench_die "lxcbr0 has a qdisc already: $(tc qdisc show dev lxcbr0)"
    tc qdisc add dev lxcbr0 root handle 1: htb default 20
    shaped=1
    tc class add dev lxcbr0 parent 1: classid 1:10 htb rate "$UPLINK" ceil "$UPLINK" quantum 60000
    tc class add dev lxcbr0 parent 1: classid 1:20 htb rate 10gbit quantum 60000
    tc filter add dev lxcbr0 parent 1: protocol ip u32 match ip dst "$NET.0/24" match ip dport 22 0xffff flowid 1:10
  elif [ "$shaped" = 1 ]; then
    tc qdisc del dev lxcbr0 root
    shaped=0
  fi
}

bench_cgroup
tools=(push apt)
links=()
[ "${BENCH_APT_BRIDGE:-1}" = 0 ] || links+=(bridge)
[ "$UPLINK" = none ] || links+=("$UPLINK")
for link in "${links[@]}"; do
if [ "$link" = bridge ]; then shape off; else shape on; fi
for n in $SIZES; do
  toml "${ips[@]:0:$n}" > "$proj/dfab.toml"
  # Untimed: the APT source and its key on the hosts (and the host program on each).
  out=$(cd "$proj" && "$DFAB" apt init 2>&1) || { echo "$out" >&2; bench_die "init failed"; }
  declare -A W=() C=() S=() H=()
  for _ in $(seq "$RUNS"); do
    for tool in "${tools[@]}"; do
      reset
      s0=$(counted dfab-bench-apt-ssh); h0=$(counted dfab-bench-apt-http)
      measure "${tool}_run"
      s1=$(counted dfab-bench-apt-ssh); h1=$(counted dfab-bench-apt-http)
      verify "$n" "$tool"
      W[$tool]+="$WALL "; C[$tool]+="$CPU "; S[$tool]+="$((s1 - s0)) "; H[$tool]+="$((h1 - h0)) "
    done
  done
  declare -A MW=() MC=() MS=() MH=()
  for tool in "${tools[@]}"; do
    # shellcheck disable=SC2086 # the runs: a list of numbers, split on purpose
    MW[$tool]=$(printf '%s\n' ${W[$tool]} | median)
    # shellcheck disable=SC2086 # as above
    MC[$tool]=$(printf '%s\n' ${C[$tool]} | median)
    # shellcheck disable=SC2086 # as above
    MS[$tool]=$(printf '%s\n' ${S[$tool]} | median)
    # shellcheck disable=SC2086 # as above
    MH[$tool]=$(printf '%s\n' ${H[$tool]} | median)
  done
  printf '%s, %2d hosts (median of %s): push %.2f s, apt %.2f s, apt/push %s; client CPU push %.2f s, apt %.2f s, apt/push %s\n' \
    "$link" "$n" "$RUNS" "${MW[push]}" "${MW[apt]}" "$(ratio "${MW[apt]}" "${MW[push]}")" \
    "${MC[push]}" "${MC[apt]}" "$(ratio "${MC[apt]}" "${MC[push]}")"
  printf '   sent by the operator (ssh): push %d B (%s x the package), apt %d B (%s x the package); by the repository (nginx): apt %d B\n' \
    "${MS[push]}" "$(ratio "${MS[push]}" "$SIZE")" "${MS[apt]}" "$(ratio "${MS[apt]}" "$SIZE")" "${MH[apt]}"
  echo "   runs: push [${W[push]% }] apt [${W[apt]% }]"
  unset W C S H MW MC MS MH
done
done
shape off
echo "targets at 64 hosts: apt sends <= 1.1 x the package from the operator in total (push: 64 x); apt wall <= 0.7 x push"
echo "load after: $(uptime)"
