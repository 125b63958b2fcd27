#!/usr/bin/env bash
# `dfab serve`: the environments page of a 50 envs x 16 hosts project (median over 200 requests,
# served from the cached project; target <= 50 ms), and a step line's way from the job's
# terminal line to an event-stream client (target <= 100 ms). Loopback only; no container.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DFAB:-}" ]; then
  cargo build --release --quiet --bin dfab
  DFAB=$PWD/target/release/dfab
fi
WORK=$(mktemp -d /tmp/dfab-bench-serve-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
{
  for e in $(seq 1 50); do
    printf '[environments.env%02d]\nhosts = [' "$e"
    for h in $(seq 1 16); do printf '"deploy@web%02d.env%02d.dfab-bench.invalid"%s' "$h" "$e" "$([ "$h" -lt 16 ] && echo ', ')"; done
    printf ']\nroledefs = { web = ["web01.env%02d.dfab-bench.invalid"], db = ["web02.env%02d.dfab-bench.invalid"] }\n' "$e" "$e"
    printf 'deploy_strategy = "rolling"\nrolling_batch = 4\nhealth_url = "http://127.0.0.1/health"\ndb_password = "bench-secret"\n\n'
  done
  printf '[environments.bench]\nhosts = []\n\n'
  # The job's task prints a line every 100 ms carrying the time it was printed (bash's clock).
  # shellcheck disable=SC2016  # expanded by the task's bash, not here
  printf '[tasks.releases]\nsteps = [{ local = "bash -c '"'"'for i in $(seq 30); do echo tick $EPOCHREALTIME; sleep 0.1; done'"'"'" }]\n'
} > "$WORK/dfab.toml"
( cd "$WORK" && exec "$DFAB" serve --bind 127.0.0.1:0 2> "$WORK/serve.log" ) &
pid=$!
for _ in $(seq 100); do grep -q 'on http://' "$WORK/serve.log" 2>/dev/null && break; sleep 0.05; done
port=$(grep -o '127.0.0.1:[0-9]*' "$WORK/serve.log" | head -1 | cut -d: -f2)
[ -n "$port" ] || { cat "$WORK/serve.log"; exit 1; }
python3 scripts/bench-serve.py 127.0.0.1 "$port" 200
