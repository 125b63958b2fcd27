#!/usr/bin/env bash
# The executor: the same 10 MB `put` plus a command on 1 and on 16 containers, dfab against a
# serial `scp` + `ssh` loop in the same run. Medians of RUNS (default 3) and the ratio.
# Needs root and `bash scripts/setup-host`. Containers dfab-bench-x-N at 10.0.3.210-225.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-exec: run as root" >&2; exit 1; }
RUNS=${RUNS:-3}
BASE=dfab-test-base
KEY=/var/lib/dfab-test/id_ed25519
cargo build --release --quiet --bin dfab
DFAB=$PWD/target/release/dfab
work=$(mktemp -d /tmp/dfab-bench-exec.XXXXXX)
names=()
cleanup() {
  for n in "${names[@]}"; do lxc-stop -k -n "$n" >/dev/null 2>&1 || true; lxc-destroy -n "$n" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
LXCPATH=$(lxc-config lxc.lxcpath)
ips=()
for i in $(seq 0 15); do
  n=dfab-bench-x-$i; ip=10.0.3.$((210 + i))
  lxc-destroy -f -n "$n" >/dev/null 2>&1 || true
  lxc-copy -n "$BASE" -N "$n" -s -B overlayfs
  echo "lxc.net.0.ipv4.address = $ip/24" >> "$LXCPATH/$n/config"
  lxc-start -n "$n" -d
  names+=("$n"); ips+=("$ip")
done
SSH=(ssh -i "$KEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
for ip in "${ips[@]}"; do
  for _ in $(seq 100); do "${SSH[@]}" "root@$ip" true 2>/dev/null && break; sleep 0.1; done
done
head -c 10485760 /dev/urandom > "$work/payload.bin"
toml() { # hosts...
  local list
  list=$(printf '"%s",' "$@")
  cat <<TOML
[environments.bench]
hosts = [${list%,}]
user = "root"
key_filename = "$KEY"
known_hosts = "/dev/null"
host_key_checking = "accept"
[tasks.ship]
doc = "put + a command"
steps = [ { put = "payload.bin", to = "/root/payload.bin" }, { run = "sha256sum /root/payload.bin" } ]
TOML
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { print a - b }'; }
for n in 1 16; do
  toml "${ips[@]:0:$n}" > "$work/dfab.toml"
  d=(); s=()
  for _ in $(seq "$RUNS"); do
    t=$(now); (cd "$work" && "$DFAB" -q bench ship >/dev/null); d+=("$(since "$t")")
    t=$(now)
    for ip in "${ips[@]:0:$n}"; do
      scp -q -i "$KEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$work/payload.bin" "root@$ip:/root/payload.bin"
      "${SSH[@]}" "root@$ip" sha256sum /root/payload.bin >/dev/null
    done
    s+=("$(since "$t")")
  done
  dm=$(printf '%s\n' "${d[@]}" | median); sm=$(printf '%s\n' "${s[@]}" | median)
  printf 'put 10 MB + command, %2d hosts: dfab %.2f s, serial scp+ssh %.2f s, ratio %.2fx (target for 16: <= 0.3x)\n' \
    "$n" "$dm" "$sm" "$(awk -v a="$dm" -v b="$sm" 'BEGIN { print a / b }')"
done
