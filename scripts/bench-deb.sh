#!/bin/sh
# Benchmark dfab's .deb builder against dpkg-deb and dpkg-buildpackage (release build).
# Usage: scripts/bench-deb.sh [WORK_DIR]   (BENCH_RUNS=N for the number of runs, default 3)
# Needs: dpkg-dev, debhelper, fakeroot.
set -eu
cd "$(dirname "$0")/.."
for tool in dpkg-deb dpkg-buildpackage dh fakeroot; do
	command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y dpkg-dev debhelper fakeroot" >&2; exit 1; }
done
exec cargo run --release --example bench_deb -- "$@"
