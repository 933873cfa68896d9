"""Drives shop_app (a real Flask app on RedisCache) for adapters/redis/tests/flask_interop.rs
and fault_vs_flask.rs, one new process per run, and prints what happened as JSON.

    python driver.py calls --url redis://127.0.0.1:16379 --prefix shop:
        Calls every cached function and view once (CALLS below) and prints, per call,
        whether it was a hit (its body did not run in this process), its value and the
        cache key Flask-Caching read (without the prefix).
    python driver.py roundtrips --url ... --prefix ... [--repeat 50]
        Warms the cache, then counts the round trips (socket writes of redis-py: one per
        command, one per pipeline) and the server's commands (INFO commandstats deltas,
        INFO itself excluded) of one hit of each kind, averaged over --repeat hits.
    python driver.py serve --url ... --prefix ...
        One JSON command per stdin line, one JSON reply per stdout line (fault_vs_flask.rs):
        {"op": "call", "fn": "price", "arg": 1}, {"op": "view", "arg": 1},
        {"op": "write", "arg": 1, "value": 120}, {"op": "delete_memoized", "fn": "price",
        "arg": 1}, {"op": "delete_view", "arg": 1}, {"op": "quit"}. A reply has the value,
        whether it was a hit, how many errors Flask-Caching logged meanwhile, and what a
        delete raised ("raised").

Run with the interpreter of a venv that has Flask-Caching, redis and flask installed.
"""

import argparse
import importlib.metadata
import json
import logging
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class ErrorCount(logging.Handler):
    """Counts what Flask-Caching logs (``logger.exception`` when the backend fails)."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.count = 0
        self.last = None

    def emit(self, record):
        self.count += 1
        self.last = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            self.last += ": %s: %s" % (type(record.exc_info[1]).__name__, record.exc_info[1])


def load_app(url, prefix):
    os.environ["SHOP_REDIS_URL"] = url
    os.environ["SHOP_CACHE_PREFIX"] = prefix
    sys.path.insert(0, HERE)
    import shop_app  # noqa: E402  (its __name__ is "shop_app", as the Rust side names it)

    errors = ErrorCount()
    logging.getLogger("flask_caching").addHandler(errors)
    logging.getLogger("flask_caching").propagate = False
    return shop_app, errors


class KeyTap:
    """Records the keys Flask-Caching passes to the backend's ``get``."""

    def __init__(self, backend):
        self.keys = []
        inner = backend.get

        def get(key):
            self.keys.append(key)
            return inner(key)

        backend.get = get


def one_call(app_mod, client, name, arg):
    """Calls ``name(arg)``; returns (value, hit)."""
    runs = app_mod.BODY_RUNS
    body = "product" if name == "view" else name
    before = runs[body]
    if name == "price":
        value = app_mod.price(arg)
    elif name == "stock":
        value = app_mod.CATALOG.stock(arg)
    elif name == "discount":
        value = app_mod.Catalog.discount(arg)
    elif name == "view":
        response = client.get("/products/%d" % arg)
        value = response.get_data(as_text=True)
    else:
        raise SystemExit("unknown function %r" % name)
    return value, runs[body] == before


CALLS = [
    ("price", 1),
    ("price", 2),
    ("price", 3),
    ("stock", 1),
    ("stock", 2),
    ("discount", 1),
    ("discount", 2),
    ("view", 1),
    ("view", 2),
]


def run_calls(app_mod, errors):
    tap = KeyTap(app_mod.cache.cache)
    client = app_mod.app.test_client()
    out = []
    with app_mod.app.app_context():
        for name, arg in CALLS:
            tap.keys.clear()
            value, hit = one_call(app_mod, client, name, arg)
            out.append(
                {
                    "call": "%s(%d)" % (name, arg),
                    "hit": hit,
                    "value": value,
                    "key": tap.keys[0] if tap.keys else None,
                }
            )
    return {"calls": out, "errors": errors.count, "last_error": errors.last}


def command_calls(info_client):
    """Total commands the server executed, INFO excluded (INFO commandstats)."""
    info = info_client.info("commandstats")
    return sum(v["calls"] for k, v in info.items() if k != "cmdstat_info")


def run_roundtrips(app_mod, url, repeat):
    import redis
    import redis.connection

    # Its own connection, opened before any measurement (its handshake is not counted).
    info_client = redis.Redis.from_url(url)
    counting = {"on": False, "writes": 0}
    original = redis.connection.AbstractConnection.send_packed_command

    def send_packed_command(self, command, check_health=True):
        if counting["on"]:
            counting["writes"] += 1
        return original(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = send_packed_command
    client = app_mod.app.test_client()
    result = {}
    with app_mod.app.app_context():
        for name, arg in [("price", 1), ("stock", 1), ("discount", 1), ("view", 1)]:
            one_call(app_mod, client, name, arg)  # miss (or hit), then only hits
            one_call(app_mod, client, name, arg)
            before = command_calls(info_client)
            counting["writes"] = 0
            counting["on"] = True
            hits = 0
            for _ in range(repeat):
                _, hit = one_call(app_mod, client, name, arg)
                hits += hit
            counting["on"] = False
            commands = command_calls(info_client) - before
            result[name] = {
                "hits": hits,
                "round_trips_per_hit": counting["writes"] / repeat,
                "commands_per_hit": commands / repeat,
            }
    return result


def serve(app_mod, errors):
    client = app_mod.app.test_client()
    with app_mod.app.app_context():
        for line in sys.stdin:
            cmd = json.loads(line)
            op = cmd["op"]
            before = errors.count
            reply = {}
            if op == "quit":
                break
            if op == "call":
                reply["value"], reply["hit"] = one_call(app_mod, client, cmd["fn"], cmd["arg"])
            elif op == "view":
                reply["value"], reply["hit"] = one_call(app_mod, client, "view", cmd["arg"])
            elif op == "write":
                app_mod.write_price(cmd["arg"], cmd["value"])
            elif op in ("delete_memoized", "delete_view"):
                try:  # both raise what the backend raises
                    if op == "delete_memoized":
                        fn = {"price": app_mod.price}[cmd["fn"]]
                        app_mod.cache.delete_memoized(fn, cmd["arg"])
                    else:
                        app_mod.cache.delete("view//products/%d" % cmd["arg"])
                except Exception as e:
                    reply["raised"] = "%s: %s" % (type(e).__name__, e)
            else:
                raise SystemExit("unknown op %r" % op)
            reply["errors"] = errors.count - before
            reply["last_error"] = errors.last if reply["errors"] else None
            print(json.dumps(reply), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["calls", "roundtrips", "serve"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    app_mod, errors = load_app(args.url, args.prefix)
    version = importlib.metadata.version("flask-caching")
    if args.mode == "calls":
        out = run_calls(app_mod, errors)
    elif args.mode == "roundtrips":
        out = run_roundtrips(app_mod, args.url, args.repeat)
    else:
        print(json.dumps({"ready": True, "flask_caching": version}), flush=True)
        serve(app_mod, errors)
        return
    out["flask_caching"] = version
    print(json.dumps(out))


if __name__ == "__main__":
    main()
