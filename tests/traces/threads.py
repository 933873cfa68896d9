"""Cache calls from several threads: a ThreadPoolExecutor of four workers, each running
requests through the test client (a ``@cached`` view that calls a memoized function,
which calls another: nested events), memoized calls, deletes and ``time.sleep``, plus one
plain ``threading.Thread``.

Which worker gets the cache first differs from run to run, and so do the hits, misses and
the order of events in the trace; every recording replays exactly. The recorder runs one
cached call at a time (a thread's call waits for another thread's to finish), so each
event is atomic in the trace, and events appear in the order they completed.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

try:
    from flask_caching import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
    CACHE_ARGS = {}
except ImportError:  # Flask-Cache 0.13
    from flask_cache import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "simple"}
    CACHE_ARGS = {"with_jinja2_ext": False}

app = Flask(__name__)
app.config.update(CACHE_DEFAULT_TIMEOUT=300, **CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)
lock = threading.Lock()
RUNS = {"price": 0, "stock": 0}


@cache.memoize(timeout=30)
def stock(item):
    with lock:
        RUNS["stock"] += 1
    return len(item) * 3


@cache.memoize(timeout=30)
def price(item, qty=1):
    with lock:
        RUNS["price"] += 1
    return qty * (stock(item) + 1)


@app.route("/item/<name>")
@cache.cached(timeout=20)
def item_view(name):
    return "%s costs %d" % (name, price(name))


def worker(n):
    client = app.test_client()
    item = ["apple", "pear", "plum"][n % 3]
    body = client.get("/item/" + item).get_data(as_text=True)
    with app.app_context():
        total = price(item, qty=n % 2 + 1)
        if n % 4 == 0:
            cache.delete_memoized(price, item)
        if n % 5 == 0:
            time.sleep(5)
        cache.set("last-%d" % (n % 3), body)
        seen = cache.get("last-%d" % (n % 3))
    return body, total, seen is not None


def main():
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(worker, range(12)))
    print(sorted(set(r[0] for r in results)))
    print(sorted(r[1] for r in results))

    def straggler():
        with app.app_context():
            stock("fig")
            time.sleep(1)
            stock("fig")

    t = threading.Thread(target=straggler, name="straggler")
    t.start()
    t.join()
    with app.app_context():
        print("stock(fig)", stock("fig"), "price(fig)", price("fig"))


if __name__ == "__main__":
    main()
