#!/usr/bin/env python3
"""What dragonfab would use from each environment: the oracle for dfab's activation.

Usage: dragonfab_settings.py FILE KNOWN_KEY...

Reads `environments` with ast.literal_eval, merges `__all__` under each environment as
dragonfab did (`env.update(environments['__all__']); env.update(environments[name])`), and
prints {env: {key: tagged value}} as compact JSON. dragonfab passed a known option only when
its value was truthy (`if env.db_port: ...`), so a known key with a falsy value ('', None,
False, 0, []) is left out; other keys are variables and kept as they are.
"""

import ast
import sys

from oracle import compact, tag


def environments(source):
    """The value of the last top-level `environments = ...`, by ast.literal_eval."""
    found = None
    for stmt in ast.parse(source).body:
        if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "environments" for t in stmt.targets):
            found = ast.literal_eval(stmt.value)
    return found


def main():
    path, known = sys.argv[1], set(sys.argv[2:])
    with open(path, "rb") as f:
        envs = environments(f.read())
    defaults = envs.get("__all__", {})
    out = {}
    for name, own in envs.items():
        if name == "__all__":
            continue
        merged = dict(defaults)
        merged.update(own)
        out[name] = {
            k: tag(v) for k, v in sorted(merged.items()) if k not in known or bool(v)
        }
    print(compact(out))


if __name__ == "__main__":
    main()
