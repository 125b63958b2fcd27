#!/bin/sh
# Offline differential check: run Python's ast.literal_eval (through oracle.py) and dfab's
# parser (through the literal_json example) on each FILE and report where they disagree.
#
# Usage: environments.py-compat/differential.sh FILE...
#        e.g. environments.py-compat/differential.sh fuzz/corpus/literal_no_panic/*
#
# A file both refuse, or both accept with the same tagged JSON, agrees. dfab's documented
# deviations (integers beyond 128 bits, rare \N{} names, lone surrogates) show up as
# "python only" and are expected.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
[ -x "$python" ] || python=python3
command -v "$python" >/dev/null || { echo "needs Python: apt-get install python3" >&2; exit 2; }

cargo build --quiet --example literal_json --manifest-path "$here/../Cargo.toml"
dfab="$here/../target/debug/examples/literal_json"

agree=0 differ=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$@"; do
    [ -f "$f" ] || continue
    py_ok=1 df_ok=1
    "$python" "$here/oracle.py" "$f" >"$tmp/py" 2>/dev/null || py_ok=0
    "$dfab" "$f" >"$tmp/df" 2>/dev/null || df_ok=0
    if [ $py_ok = 0 ] && [ $df_ok = 0 ]; then
        agree=$((agree + 1))
    elif [ $py_ok = 1 ] && [ $df_ok = 1 ] && cmp -s "$tmp/py" "$tmp/df"; then
        agree=$((agree + 1))
    else
        differ=$((differ + 1))
        if [ $py_ok = 1 ] && [ $df_ok = 0 ]; then
            echo "python only: $f: $("$dfab" "$f" 2>&1 | head -n 1)"
        elif [ $py_ok = 0 ] && [ $df_ok = 1 ]; then
            echo "dfab only:   $f: $("$python" "$here/oracle.py" "$f" 2>&1 >/dev/null | head -n 1)"
        else
            echo "values:      $f"
        fi
    fi
done
echo "$agree agree, $differ differ"
[ $differ = 0 ]
