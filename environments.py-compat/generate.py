#!/usr/bin/env python3
"""Write random environments.py-like files for differential.sh.

Usage: generate.py DIR [COUNT] [SEED]

Each file holds a few assignments of random nested literals, spelled in random ways (quote
styles, prefixes, escapes, number bases, signs, separators, comments, line breaks inside
brackets). Most are valid literals; the point is to compare dfab with Python value for value.
"""

import os
import random
import sys

R = random.Random()


def rstr():
    alphabet = "abc XYZ_-/.'\"\\\t\né€😀\u0301\x00\x7f{}#"
    s = "".join(R.choice(alphabet) for _ in range(R.randint(0, 8)))
    if R.random() < 0.3 and "\\" not in s and "\n" not in s and not s.endswith("'"):
        return "r'" + s.replace("'", "").replace("\x00", "") + "'"
    out = []
    for c in s:
        k = R.random()
        if c == "\\":
            out.append("\\\\")
        elif c == "'":
            out.append("\\'")
        elif c == "\n":
            out.append(R.choice(["\\n", "\\012", "\\x0a", "\\u000a", "\\N{LINE FEED}"]))
        elif c == "\t":
            out.append(R.choice(["\\t", "\\11", "\\x09"]))
        elif c == "\x00":
            out.append(R.choice(["\\0", "\\000", "\\x00"]))
        elif c == "\x7f":
            out.append(R.choice(["\\x7f", "\\177", "\\N{DELETE}"]))
        elif ord(c) > 127 and k < 0.5:
            out.append("\\U%08x" % ord(c) if ord(c) > 0xFFFF else "\\u%04x" % ord(c))
        else:
            out.append(c)
    prefix = R.choice(["", "", "u", "U"])
    body = "".join(out)
    if R.random() < 0.2:
        cut = R.randint(0, len(body))
        while cut > 0 and body[cut - 1] == "\\":
            cut -= 1
        return f"{prefix}'{body[:cut]}' '{body[cut:]}'"
    return f"{prefix}'{body}'"


def rbytes():
    bs = bytes(R.randint(0, 255) for _ in range(R.randint(0, 6)))
    out = []
    for b in bs:
        if 0x20 <= b < 0x7F and b not in (0x27, 0x5C):
            out.append(chr(b))
        else:
            out.append(R.choice(["\\x%02x" % b, "\\%03o" % b]))
    return R.choice(["b", "B", "b", "bR"[:1]]) + "'" + "".join(out) + "'"


def rint():
    n = R.choice([0, 1, 7, 42, 255, 10**6, 2**63, 2**127 - 1, R.randint(0, 10**30)])
    form = R.choice(["dec", "dec", "hex", "oct", "bin", "sep"])
    text = {"dec": str(n), "hex": hex(n), "oct": oct(n), "bin": bin(n), "sep": f"{n:_}"}[form]
    return R.choice(["", "", "-", "+"]) + text


def rfloat():
    x = R.choice([0.0, 0.5, 1.5, 1e-7, 1e16, 3.141592653589793, 1e308, 5e-324, R.random() * 10**R.randint(-20, 20)])
    text = R.choice([repr(x), f"{x:e}", f"{x:.3f}", "1e999", ".5", "1.", "0_1.2_5e1_0"])
    return R.choice(["", "-", "+"]) + text


def rcomplex():
    imag = R.choice(["0j", "1j", "2.5J", "1e999j", "0.0j"])
    real = R.choice(["0", "-0.0", "1", "-1.5", "1e999", "0x10"])
    return R.choice([imag, "-" + imag, f"{real}+{imag}", f"{real}-{imag}", f"({real})+({imag})"])


def scalar():
    return R.choice([rstr, rstr, rbytes, rint, rfloat, rcomplex,
                     lambda: R.choice(["True", "False", "None"])])()


def hashable(depth):
    if depth > 0 and R.random() < 0.2:
        items = [hashable(depth - 1) for _ in range(R.randint(0, 3))]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return scalar()


def sep():
    return R.choice([", ", ",", " , ", ",\n    ", ",  # c\n  ", ", \\\n"])


def value(depth):
    if depth <= 0 or R.random() < 0.35:
        return scalar()
    kind = R.choice(["list", "tuple", "dict", "dict", "set"])
    n = R.randint(0, 4)
    trail = R.choice(["", ","]) if n else ""
    if kind == "list":
        return "[" + sep().join(value(depth - 1) for _ in range(n)) + trail + "]"
    if kind == "tuple":
        items = [value(depth - 1) for _ in range(n)]
        return "(" + sep().join(items) + ("," if n == 1 else trail) + ")"
    if kind == "set":
        if n == 0:
            return "set()"
        return "{" + sep().join(hashable(2) for _ in range(n)) + trail + "}"
    return "{" + sep().join(f"{hashable(2)}: {value(depth - 1)}" for _ in range(n)) + trail + "}"


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    R.seed(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    os.makedirs(out, exist_ok=True)
    for i in range(count):
        lines = []
        if R.random() < 0.3:
            lines.append('"""Docstring."""')
        for k in range(R.randint(1, 4)):
            lines.append(f"v{k} = {value(4)}" + R.choice(["", "  # trailing", ";"]))
        nl = R.choice(["\n", "\n", "\r\n"])
        with open(os.path.join(out, f"gen{i:04d}.py"), "w", encoding="utf-8", newline="") as f:
            f.write(nl.join(lines) + nl)


if __name__ == "__main__":
    main()
