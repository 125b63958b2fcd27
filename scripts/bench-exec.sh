#!/usr/bin/env bash
# The executor: the same 10 MB `put` plus a command on 1 and on 16 containers, dfab against a
# serial `scp` + `ssh` loop in the same run. Medians of RUNS (default 3) and the ratio.
# Key exchange: BENCH_KEX for dfab, scp and ssh alike (see scripts/bench-lib.sh).
# Needs root and `bash scripts/setup-host`. Containers dfab-bench-x-N at 10.0.3.210-225.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
bench_init bench-exec
RUNS=${RUNS:-3}
bench_containers dfab-bench-x $(seq 210 225)
bench_show_kex "${ips[0]}"
head -c 10485760 /dev/urandom > "$WORK/payload.bin"
toml() { # hosts...
  cat <<TOML
[environments.bench]
$(bench_toml_hosts "$@")
$(bench_toml_ssh)
[tasks.ship]
doc = "put + a command"
steps = [ { put = "payload.bin", to = "/root/payload.bin" }, { run = "sha256sum /root/payload.bin" } ]
TOML
}
for n in 1 16; do
  toml "${ips[@]:0:$n}" > "$WORK/dfab.toml"
  d=(); s=()
  for _ in $(seq "$RUNS"); do
    t=$(now); (cd "$WORK" && "$DFAB" -q bench ship >/dev/null); d+=("$(since "$t")")
    t=$(now)
    for ip in "${ips[@]:0:$n}"; do
      scp -q "${SSHO[@]}" "$WORK/payload.bin" "root@$ip:/root/payload.bin"
      ssh "${SSHO[@]}" "root@$ip" sha256sum /root/payload.bin >/dev/null
    done
    s+=("$(since "$t")")
  done
  dm=$(printf '%s\n' "${d[@]}" | median); sm=$(printf '%s\n' "${s[@]}" | median)
  printf 'put 10 MB + command, %2d hosts: dfab %.2f s, serial scp+ssh %.2f s, ratio %.2fx (target for 16: <= 0.3x)\n' \
    "$n" "$dm" "$sm" "$(awk -v a="$dm" -v b="$sm" 'BEGIN { print a / b }')"
done
