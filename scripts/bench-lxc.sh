#!/usr/bin/env bash
# Time "no container" -> RUNNING with an address -> sshd accepts the key: dfab's liblxc path,
# the hand-run lxc-* tools, and dragonfab's full copy + 10 s sleep. Median of 5 each.
# Needs root and `bash scripts/setup-host`. Pass --template to also time clones of a dfab
# template (systemd + DHCP; builds one, about a minute without the cache, then destroys it).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-lxc: run as root" >&2; exit 1; }
lxc-info -n dfab-test-base >/dev/null 2>&1 || { echo "bench-lxc: run \`bash scripts/setup-host\` first" >&2; exit 1; }
cargo build --release --quiet --bin dfab --example bench_lxc
exec target/release/examples/bench_lxc "$@"
