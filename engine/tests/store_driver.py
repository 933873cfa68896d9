"""Runs backend operations against a real SimpleCache with a virtual clock.

Driver for engine/tests/store_vs_cachelib.rs (FC-4.3). Usage: `store_driver.py FLAVOUR`,
where FLAVOUR picks the implementation:

    cachelib  cachelib.SimpleCache                               (Flask-Caching 2.5.x)
    fc24      flask_caching.backends.simplecache.SimpleCache     (Flask-Caching 2.4.1)
    werkzeug  werkzeug.contrib.cache.SimpleCache                 (Flask-Cache 0.13.1)

Reads lines from stdin:

    config <threshold> <default_timeout> <ignore_delete_many_errors 0|1>
    <now_micros> <op> <args...>

Ops: get K | get_many K... | has K | set K V T | add K V T | set_many T K V [K V]... |
delete K | delete_many K... | clear. Keys are single tokens. A value is `n` (None), `i:<int>`
or `s:<text>`; a timeout is `N` (None) or an integer. The clock is `now_micros / 10**6`, a
float, exactly what `time()` would return; it is patched into the module that calls it.

Writes a header naming the implementation and its version first, then one line per op:

    <reply> | <key>=<expires> ...

where the reply is `v <repr>` (get, and anything that is neither a bool nor a list),
`vs <repr>...` (get_many), `b True|False`, `k <key>...` (a list of keys) or
`e <ExceptionType> <message>`, and the rest is the backend's dict after the op, in order.
cachelib's `expires` is printed as it is stored (an int). Werkzeug's is a float or an int;
it is printed as the first microsecond `t` at which `expires > t / 10**6` is false, found
with Python's own division and comparison, or NEVER for `0`.

Kept compatible with Python 3.7 (the Werkzeug 0.16 environment).
"""

import sys
import warnings

NOW = [0.0]
NEVER = 2 ** 127 - 1
FIRST = -(2 ** 63)
PAST_LAST = 2 ** 63


def clock():
    return NOW[0]


def dist_version(name, module):
    try:
        from importlib.metadata import version
    except ImportError:
        return getattr(module, "__version__", "?")
    return version(name)


def load(flavour):
    """Returns (header, factory(threshold, default_timeout, ignore_errors))."""
    if flavour == "cachelib":
        import cachelib
        import cachelib.simple

        # simple.py does `from time import time`: patch the name it calls.
        cachelib.simple.time = clock

        def make(threshold, default_timeout, ignore):
            return cachelib.SimpleCache(
                threshold=threshold,
                default_timeout=default_timeout,
                ignore_delete_many_errors=ignore,
            )

        return "cachelib " + dist_version("cachelib", cachelib), make
    if flavour == "fc24":
        import cachelib
        import cachelib.simple
        import flask_caching
        import flask_caching.backends.base as fc_base
        import flask_caching.backends.simplecache as fc_simple

        # Every clock read happens in cachelib's simple.py (`from time import time`).
        cachelib.simple.time = clock
        for module in (fc_base, fc_simple):
            if hasattr(module, "time"):
                module.time = clock

        def make(threshold, default_timeout, ignore):
            return fc_simple.SimpleCache(
                threshold=threshold,
                default_timeout=default_timeout,
                ignore_errors=ignore,
            )

        header = "flask_caching {} cachelib {}".format(
            dist_version("flask-caching", flask_caching),
            dist_version("cachelib", cachelib),
        )
        return header, make
    if flavour == "werkzeug":
        import werkzeug

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import werkzeug.contrib.cache as wz_cache

        # contrib/cache.py does `from time import time`: patch the name it calls.
        wz_cache.time = clock

        def make(threshold, default_timeout, ignore):
            return wz_cache.SimpleCache(
                threshold=threshold, default_timeout=default_timeout
            )

        return "werkzeug " + dist_version("werkzeug", werkzeug), make
    raise ValueError("bad flavour {!r}".format(flavour))


def value(tok):
    if tok == "n":
        return None
    kind, _, body = tok.partition(":")
    if kind == "i":
        return int(body)
    if kind == "s":
        return body
    raise ValueError("bad value token {!r}".format(tok))


def timeout(tok):
    return None if tok == "N" else int(tok)


def reply_text(op, result):
    if op == "get":
        return "v " + repr(result)
    if op == "get_many":
        return " ".join(["vs"] + [repr(v) for v in result])
    if isinstance(result, bool):
        return "b " + repr(result)
    if isinstance(result, list):
        return " ".join(["k"] + result)
    return "v " + repr(result)


def run(cache, op, args):
    if op == "get":
        return cache.get(args[0])
    if op == "get_many":
        return cache.get_many(*args)
    if op == "has":
        return cache.has(args[0])
    if op == "set":
        return cache.set(args[0], value(args[1]), timeout(args[2]))
    if op == "add":
        return cache.add(args[0], value(args[1]), timeout(args[2]))
    if op == "set_many":
        pairs = args[1:]
        mapping = dict(zip(pairs[0::2], map(value, pairs[1::2])))
        return cache.set_many(mapping, timeout(args[0]))
    if op == "delete":
        return cache.delete(args[0])
    if op == "delete_many":
        return cache.delete_many(*args)
    if op == "clear":
        return cache.clear()
    raise ValueError("bad op {!r}".format(op))


def first_dead_micro(expires):
    """The smallest t in [FIRST, PAST_LAST) with `not (expires > t / 10**6)`, else
    PAST_LAST; NEVER when `expires == 0`."""
    if expires == 0:
        return NEVER

    def dead(t):
        return t >= PAST_LAST or not (expires > t / 10 ** 6)

    guess = min(max(int(expires * 10 ** 6), FIRST), PAST_LAST)
    lo, hi = guess - 8, guess + 8
    if lo < FIRST or hi > PAST_LAST or dead(lo) or not dead(hi):
        lo, hi = FIRST - 1, PAST_LAST
    # alive at lo (or before the first instant), dead at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if dead(mid):
            hi = mid
        else:
            lo = mid
    return hi


def main():
    flavour = sys.argv[1] if len(sys.argv) > 1 else "cachelib"
    header, make = load(flavour)
    werkzeug = flavour == "werkzeug"
    out = [header]
    cache = None
    for line in sys.stdin:
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "config":
            cache = make(int(fields[1]), int(fields[2]), fields[3] == "1")
            continue
        NOW[0] = int(fields[0]) / 10 ** 6
        try:
            reply = reply_text(fields[1], run(cache, fields[1], fields[2:]))
        except RuntimeError as exc:
            reply = "e {} {}".format(type(exc).__name__, exc)
        if werkzeug:
            state = " ".join(
                "{}={}".format(k, first_dead_micro(e)) for k, (e, _) in cache._cache.items()
            )
        else:
            state = " ".join("{}={}".format(k, e) for k, (e, _) in cache._cache.items())
        out.append(reply + " | " + state)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
