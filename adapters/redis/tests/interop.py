"""The Python half of tests/interop.rs, run with a venv that has Flask-Caching and redis-py.

    interop.py write PORT PREFIX     store every value with RedisCache under PREFIX + "py_" + name
    interop.py read PORT PREFIX      read PREFIX + "rs_" + name, print {"mismatches": [...]}
    interop.py measure PORT          count the commands of a memoize hit and a view hit

Everything is printed as one JSON object on stdout.
"""

import collections
import datetime
import decimal
import importlib.metadata
import json
import sys


class Point:
    def __init__(self, x):
        self.x = x


def values():
    """Name -> value; tests/interop.rs builds the same values under the same names."""
    shared = [1, 2]
    ints = [2**64, -(2**64), 2**63 - 1, -(2**63), 255, 256, 65535, 65536, -1, -128, -129,
            2**31, -(2**31) - 1, 0, 10**40]
    return {
        "none": None,
        "true": True,
        "false": False,
        "int_small": 7,
        "int_neg": -300,
        "int_big": 2**100,
        "int_negbig": -(2**100) - 1,
        "int_huge": 10**400,
        "ints_pickled": ints,
        "float": 1.5,
        "float_negzero": -0.0,
        "float_inf": float("inf"),
        "float_neginf": float("-inf"),
        "float_nan": float("nan"),
        "floats": [1e308, 5e-324, 0.1, -2.5],
        "str_empty": "",
        "str_unicode": "h\u00e9llo w\u00f6rld \u2713 \U0001d11e \u4e2d\u6587",
        "str_long": "\u00e9" * 300,
        "str_nul": "nul\x00in str",
        "bytes_empty": b"",
        "bytes_nul": b"a\x00b\x00",
        "bytes_all": bytes(range(256)),
        "bytes_large": b"x" * 70000,
        "tuple_empty": (),
        "tuples": [(1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
        "tuple_nested": ((1, (2, [3])),),
        "list_empty": [],
        "list_nested": [1, [2, [3, []]]],
        "list_long": list(range(1500)),
        "dict_empty": {},
        "dict_order": {"b": 1, "a": 2},
        "dict_mixed": {1: "x", "k": [1, 2], (1, 2): {"n": None}, True: 1.5, b"b": False},
        "dict_long": {f"k{i}": i for i in range(1500)},
        "ordered": collections.OrderedDict([("z", 1), ("a", 2)]),
        "deep": deep(50),
        "shared": [shared, shared],
    }


def deep(n):
    v = []
    for _ in range(n):
        v = [v]
    return v


def unrepresentable():
    return {
        "set": {1, 2},
        "frozenset": frozenset([1]),
        "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5),
        "decimal": decimal.Decimal("1.5"),
        "point": Point(1),
        "bytearray": bytearray(b"ab"),
        "complex": 1 + 2j,
        "class": int,
    }


def redis_cache(port, prefix):
    from flask_caching.backends.rediscache import RedisCache

    return RedisCache(host="127.0.0.1", port=port, key_prefix=prefix, default_timeout=0)


def write(port, prefix):
    import pickle

    cache = redis_cache(port, prefix)
    dumps = {}
    for name, value in values().items():
        cache.set("py_" + name, value)
        dumps[name] = pickle.dumps(value, 5).hex()
    for name, value in unrepresentable().items():
        cache.set("py_" + name, value)
    return {"written": len(dumps), "pickles": dumps}


def read(port, prefix):
    cache = redis_cache(port, prefix)
    mismatches = []
    for name, value in values().items():
        got = cache.get("rs_" + name)
        if repr(got) != repr(value) or type(got) is not type(value):
            mismatches.append({"name": name, "got": repr(got)[:200], "want": repr(value)[:200]})
    return {"read": len(values()), "mismatches": mismatches}


def measure(port):
    import flask_caching
    import redis
    from flask import Flask

    app = Flask(__name__)
    cache = flask_caching.Cache(
        app,
        config={
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_HOST": "127.0.0.1",
            "CACHE_REDIS_PORT": port,
            "CACHE_KEY_PREFIX": "measure_",
        },
    )

    @cache.memoize(timeout=600)
    def student(n):
        return n * 2

    @app.route("/page")
    @cache.cached(timeout=600)
    def page():
        return "page"

    admin = redis.Redis(host="127.0.0.1", port=port)

    def count(call):
        admin.config_resetstat()
        call()
        stats = admin.info("commandstats")
        per = {k[len("cmdstat_"):]: v["calls"] for k, v in stats.items()}
        per.pop("info", None)
        per.pop("config|resetstat", None)
        per.pop("config", None)
        return per

    with app.app_context():
        student(7)
        student(7)
        memo = count(lambda: student(7))
        client = app.test_client()
        client.get("/page")
        view = count(lambda: client.get("/page"))
    version = importlib.metadata.version("flask-caching")
    return {"version": version, "memoize_hit": memo, "view_hit": view}


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "write":
        out = write(port, sys.argv[3])
    elif mode == "read":
        out = read(port, sys.argv[3])
    elif mode == "measure":
        out = measure(port)
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
