import datetime
import time
from flask import Flask, Blueprint
from flask_caching import Cache

app = Flask("reports")
cache = Cache(config={"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 4, "CACHE_DEFAULT_TIMEOUT": 50})
cache.init_app(app)
bp = Blueprint("reports", __name__, url_prefix="/r")
state = {"v": 1}


@bp.route("/daily/<day>")
@cache.cached(timeout=10, key_prefix="daily/%s")
def daily(day):
    return "daily %s v%d" % (day, state["v"])


@bp.route("/summary")
@cache.cached(key_prefix=lambda: "summary-%d" % state["v"], unless=lambda: state["v"] > 3)
def summary():
    return "summary v%d" % state["v"]


app.register_blueprint(bp)


@cache.memoize(timeout=5, args_to_ignore=["verbose"])
def compute(a, b=2, verbose=False):
    return a * b


@cache.memoize(response_filter=lambda rv: rv is not None)
def maybe(x):
    return None if x < 0 else x


c = app.test_client()
with app.app_context():
    for day in ["mon", "tue", "mon", "wed", "thu", "fri", "mon"]:
        print(c.get("/r/daily/" + day).data)
    print(c.get("/r/summary").data, c.get("/r/summary").data)
    state["v"] = 2
    print(c.get("/r/summary").data)
    state["v"] = 5
    print(c.get("/r/summary").data)
    print(compute(3), compute(3, verbose=True), compute(3, 4), compute(a=3, b=2))
    print(maybe(-1), maybe(-1), maybe(2), maybe(2))
    time.sleep(6)
    print(compute(3))
    cache.delete_memoized_verhash(compute)
    print(compute(3))
    print(cache.delete("daily//r/daily/mon"), cache.delete("daily/r/daily/mon"))
