"""Runs backend operations against Flask-Caching's real RedisCache on fakeredis.

Driver for engine/tests/store_redis_vs_fakeredis.rs (FC-4.5). The backend is built as an
app does it (`Cache(app)` with `CACHE_TYPE="RedisCache"`, or `"redis"` for Flask-Cache
0.13), so the installed Flask-Caching (2.5.1 or 2.4.1) and cachelib, or Flask-Cache 0.13.1
and Werkzeug 0.16.1, choose the class, the prefix handling and `delete_many`. The
Redis server is fakeredis on a virtual clock with Redis 7's error wording, exactly as the
recorder sets it up (`sim/recorder/flaskcache_recorder/redis_server.py`).

Reads lines from stdin:

    config <default_timeout> <ignore_errors 0|1> <prefix>
    <now_micros> <op> <args...>

`<prefix>` is `-` (CACHE_KEY_PREFIX not set: Flask-Caching's default `flask_cache_`) or
`p:<hex of the UTF-8 prefix>`. Ops: get K | get_many K... | has K | set K V T | add K V T |
set_many T K V [K V]... | delete K | delete_many K... | clear. Keys are single tokens. A value
is `n` (None), `t`/`f` (True/False), `i:<int>`, `d:<float repr>`, `s:<hex of UTF-8>`,
`y:<hex>` (bytes) or `l:<int>,<int>,...` (a list of ints); a timeout is `N` or an integer.

Writes a header naming the versions first, then one line per op:

    <reply> | <key>=<expiry>=<value repr> ...

where the reply is `v <repr>` (get, or any other value), `vs <repr>...` (get_many, or a
list of values), `b True|False`, `k <key>...` (a list of keys) or
`e <ExceptionType> <repr of the message>`, and the rest is
every key that exists afterwards, sorted, with the first microsecond at which it no longer
exists (`NEVER` without expiry) and the repr of its value as cachelib loads it.
"""

import logging
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "sim", "recorder"))

from flaskcache_recorder import redis_server  # noqa: E402

logging.disable(logging.CRITICAL)

NOW = [0]
PAST_LAST = 2 ** 63


def clock():
    return NOW[0] / 10 ** 6


def version(dist):
    try:
        from importlib.metadata import version as v
    except ImportError:  # Python 3.7
        from importlib_metadata import version as v

    return v(dist)


def flask_cache_013():
    """Whether the installed library is Flask-Cache 0.13 rather than Flask-Caching."""
    try:
        import flask_caching  # noqa: F401
    except ImportError:
        return True
    return False


class Widget:
    """A class defined here: its values pickle as `__main__.Widget`."""

    class Inner:
        """A nested class (protocol 3 names it through a `getattr` reduce)."""


def cls(tok):
    """The class a `module:qualname` token names (builtins or this module's)."""
    module, _, qualname = tok.partition(":")
    if module == "builtins":
        import builtins

        return getattr(builtins, qualname)
    if module != "__main__":
        raise ValueError("bad class token %r" % tok)
    found = globals()[qualname.split(".")[0]]
    for name in qualname.split(".")[1:]:
        found = getattr(found, name)
    return found


def value(tok):
    if tok == "n":
        return None
    if tok == "t":
        return True
    if tok == "f":
        return False
    kind, _, body = tok.partition(":")
    if kind == "i":
        return int(body)
    if kind == "d":
        return float(body)
    if kind == "s":
        return bytes.fromhex(body).decode("utf-8")
    if kind == "y":
        return bytes.fromhex(body)
    if kind == "l":
        return [int(x) for x in body.split(",")] if body else []
    if kind == "c":
        return cls(body)
    if kind == "k":
        return [cls(x) for x in body.split(";")] if body else []
    raise ValueError("bad value token %r" % tok)


def timeout(tok):
    return None if tok == "N" else int(tok)


def reply_text(op, result):
    if op == "get":
        return "v " + repr(result)
    if op == "get_many":
        return " ".join(["vs"] + [repr(v) for v in result])
    if isinstance(result, bool):
        return "b " + repr(result)
    if isinstance(result, list) and flask_cache_013():
        # Werkzeug's set_many: the pipeline's replies.
        return " ".join(["vs"] + [repr(v) for v in result])
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
    raise ValueError("bad op %r" % op)


def first_dead_micro(expireat):
    """The smallest t with `expireat < t / 10**6` (fakeredis: expired), else PAST_LAST."""
    lo, hi = int(expireat * 10 ** 6) - 8, int(expireat * 10 ** 6) + 8
    dead = lambda t: t >= PAST_LAST or expireat < t / 10 ** 6  # noqa: E731
    if dead(lo) or not dead(hi):
        lo, hi = -(2 ** 63) - 1, PAST_LAST
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if dead(mid):
            hi = mid
        else:
            lo = mid
    return hi


def keyspace(server, loads):
    db = server.dbs[0]
    now = clock()
    out = []
    for key in sorted(db._dict):
        item = db._dict[key]
        if item.expireat is not None and item.expireat < now:
            continue
        expiry = "NEVER" if item.expireat is None else str(first_dead_micro(item.expireat))
        # The stored bytes too: the serializer's output, byte for byte (pickle protocol and
        # opcodes, Werkzeug's and cachelib's plain-int encoding).
        out.append("%s=%s=%r=%s" % (key.decode("utf-8"), expiry, loads(item.value),
                                    bytes(item.value).hex()))
    return " ".join(out)


def make(default_timeout, ignore, prefix):
    """The backend, the fakeredis server and the backend's value loader."""
    from flask import Flask

    client = redis_server.fake_client(clock)
    app = Flask(__name__)
    if flask_cache_013():
        from flask_cache import Cache

        # Werkzeug's RedisCache takes a client object as its host.
        app.config.update(CACHE_TYPE="redis", CACHE_REDIS_HOST=client,
                          CACHE_DEFAULT_TIMEOUT=default_timeout)
        args = {"with_jinja2_ext": False}
    else:
        from flask_caching import Cache

        app.config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_HOST=client,
                          CACHE_DEFAULT_TIMEOUT=default_timeout, CACHE_IGNORE_ERRORS=ignore)
        args = {}
    if prefix is not None:
        app.config["CACHE_KEY_PREFIX"] = prefix
    cache = Cache(app, **args)
    backend = app.extensions["cache"][cache]
    loads = backend.load_object if flask_cache_013() else backend.serializer.loads
    return backend, client.connection_pool.connection_kwargs["server"], loads


def main():
    if flask_cache_013():
        header = "flask_cache {} werkzeug {} redis {} fakeredis {}".format(
            version("flask-cache"), version("werkzeug"), version("redis"), version("fakeredis")
        )
    else:
        header = "flask_caching {} cachelib {} redis {} fakeredis {}".format(
            version("flask-caching"), version("cachelib"), version("redis"), version("fakeredis")
        )
    out = [header]
    backend = server = loads = None
    for line in sys.stdin:
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "config":
            prefix = None if fields[3] == "-" else bytes.fromhex(fields[3][2:]).decode("utf-8")
            backend, server, loads = make(int(fields[1]), fields[2] == "1", prefix)
            continue
        NOW[0] = int(fields[0])
        try:
            reply = reply_text(fields[1], run(backend, fields[1], fields[2:]))
        except Exception as exc:  # noqa: BLE001 - every raise is compared
            reply = "e %s %r" % (type(exc).__name__, str(exc))
        out.append(reply + " | " + keyspace(server, loads))
    sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8", "surrogateescape"))


if __name__ == "__main__":
    main()
