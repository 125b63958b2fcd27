#!/usr/bin/env python3
"""The Python side of dfab's differential test for environments.py.

Usage: oracle.py FILE

Parses FILE with ast.parse and applies ast.literal_eval to the value of every top-level
assignment, then prints {name: tagged_value} as compact JSON on one line, byte for byte as Value::to_tagged_json
produces in Rust. Exits 1 (with the reason on stderr) when FILE is outside what dfab accepts:
a syntax error, a value literal_eval refuses, or a statement that is neither `name = ...`
nor a bare string.
"""

import ast
import json
import struct
import sys


class Refused(Exception):
    pass


def float_bits(x):
    return struct.pack(">d", x).hex()


def tag(v):
    if v is None:
        return {"t": "none"}
    if isinstance(v, bool):
        return {"t": "bool", "v": v}
    if isinstance(v, int):
        return {"t": "int", "v": str(v)}
    if isinstance(v, float):
        return {"t": "float", "v": float_bits(v)}
    if isinstance(v, complex):
        return {"t": "complex", "v": [float_bits(v.real), float_bits(v.imag)]}
    if isinstance(v, str):
        return {"t": "str", "v": v}
    if isinstance(v, bytes):
        return {"t": "bytes", "v": list(v)}
    if isinstance(v, list):
        return {"t": "list", "v": [tag(x) for x in v]}
    if isinstance(v, tuple):
        return {"t": "tuple", "v": [tag(x) for x in v]}
    if isinstance(v, (set, frozenset)):
        members = [tag(x) for x in v]
        members.sort(key=compact)
        return {"t": "set", "v": members}
    if isinstance(v, dict):
        return {"t": "dict", "v": [[tag(k), tag(x)] for k, x in v.items()]}
    raise Refused(f"no tagged form for {type(v).__name__} (dfab has no such value)")


def compact(j):
    return json.dumps(j, separators=(",", ":"), ensure_ascii=False)


def evaluate(source):
    tree = ast.parse(source)
    out = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
                and isinstance(stmt.value.value, (str, bytes)):
            continue
        if not isinstance(stmt, ast.Assign):
            raise Refused(f"line {stmt.lineno}: {type(stmt).__name__} statement")
        value = ast.literal_eval(stmt.value)
        for target in stmt.targets:
            if not isinstance(target, ast.Name):
                raise Refused(f"line {stmt.lineno}: assignment to {type(target).__name__}")
            out[target.id] = tag(value)
    return out


def serve():
    """`oracle.py --serve`: for the differential fuzz target. Reads sources framed as a 4-byte
    big-endian length and the bytes; answers each with one line, `ok <json>` or `err <reason>`."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = inp.read(4)
        if len(head) < 4:
            return 0
        source = inp.read(struct.unpack(">I", head)[0])
        try:
            line = b"ok " + compact(evaluate(source)).encode("utf-8")
        except Exception as e:  # every refusal, whatever Python raised
            line = b"err " + type(e).__name__.encode()
        out.write(line.replace(b"\n", b" ") + b"\n")
        out.flush()


def main():
    if sys.argv[1:] == ["--serve"]:
        return serve()
    if len(sys.argv) != 2:
        print("usage: oracle.py FILE", file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        source = f.read()
    try:
        out = evaluate(source)
        text = compact(out)
        # Lone surrogates cannot be written as UTF-8; dfab refuses them too.
        sys.stdout.buffer.write(text.encode("utf-8") + b"\n")
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError,
            OverflowError, UnicodeError, Refused) as e:
        print(f"refused: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
