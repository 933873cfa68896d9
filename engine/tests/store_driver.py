"""Runs backend operations against cachelib's real SimpleCache with a virtual clock.

Driver for engine/tests/store_vs_cachelib.rs (FC-4.3). Reads lines from stdin:

    config <threshold> <default_timeout> <ignore_delete_many_errors 0|1>
    <now_micros> <op> <args...>

Ops: get K | get_many K... | has K | set K V T | add K V T | set_many T K V [K V]... |
delete K | delete_many K... | clear. Keys are single tokens. A value is `n` (None), `i:<int>`
or `s:<text>`; a timeout is `N` (None) or an integer. The clock is `now_micros / 1e6`, a
float, exactly what cachelib's `time()` would return.

Writes `cachelib <version>` first, then one line per op:

    <reply> | <key>=<expires> ...

where the reply is `v <repr>` (get), `vs <repr>...` (get_many), `b True|False`,
`k <key>...` (set_many, delete_many) or `e <ExceptionType> <message>`, and the rest is the
backend's dict after the op, in order.
"""

import sys
from importlib.metadata import version

import cachelib
import cachelib.simple

NOW = [0.0]
# simple.py does `from time import time`: patch the name it calls.
cachelib.simple.time = lambda: NOW[0]


def value(tok):
    if tok == "n":
        return None
    kind, _, body = tok.partition(":")
    if kind == "i":
        return int(body)
    if kind == "s":
        return body
    raise ValueError(f"bad value token {tok!r}")


def timeout(tok):
    return None if tok == "N" else int(tok)


def run(cache, op, args):
    if op == "get":
        return "v " + repr(cache.get(args[0]))
    if op == "get_many":
        return " ".join(["vs"] + [repr(v) for v in cache.get_many(*args)])
    if op == "has":
        return f"b {cache.has(args[0])!r}"
    if op == "set":
        return f"b {cache.set(args[0], value(args[1]), timeout(args[2]))!r}"
    if op == "add":
        return f"b {cache.add(args[0], value(args[1]), timeout(args[2]))!r}"
    if op == "set_many":
        pairs = args[1:]
        mapping = dict(zip(pairs[0::2], map(value, pairs[1::2])))
        return " ".join(["k"] + cache.set_many(mapping, timeout(args[0])))
    if op == "delete":
        return f"b {cache.delete(args[0])!r}"
    if op == "delete_many":
        return " ".join(["k"] + cache.delete_many(*args))
    if op == "clear":
        return f"b {cache.clear()!r}"
    raise ValueError(f"bad op {op!r}")


def main():
    out = [f"cachelib {version('cachelib')}"]
    cache = None
    for line in sys.stdin:
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "config":
            cache = cachelib.SimpleCache(
                threshold=int(fields[1]),
                default_timeout=int(fields[2]),
                ignore_delete_many_errors=fields[3] == "1",
            )
            continue
        NOW[0] = int(fields[0]) / 1_000_000
        try:
            reply = run(cache, fields[1], fields[2:])
        except RuntimeError as exc:
            reply = f"e {type(exc).__name__} {exc}"
        state = " ".join(f"{k}={e}" for k, (e, _) in cache._cache.items())
        out.append(f"{reply} | {state}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
