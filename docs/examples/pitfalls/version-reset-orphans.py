"""Pitfall ``version-reset-orphans``: ``delete_memoized(f)`` without arguments to drop one call.

The price of tea changed, and the user wrote ``cache.delete_memoized(price)`` to drop it.
Without arguments this deletes nothing: it writes a new version string under
``__main__.price_memver``, so every key of ``price`` changes. The old entries (tea *and*
cake) stay in the store, unreachable, until their own timeout (an hour here), and the cake,
whose price did not change, is computed and stored a second time. With a small
``CACHE_THRESHOLD`` the orphans take the room of live entries: SimpleCache prunes the
entry that expires first, the menu page, which is rendered again although nothing changed
(and in Flask-Caching 2.4, whose reset version key expires after the default 300 s, the new
version key itself, orphaning the entries written after the reset too).

Fix: ``cache.delete_memoized(price, "tea")`` deletes exactly the entry of ``price("tea")``
(the same arguments as the call); the cake and the menu stay cached.
"""

from flask import Flask

try:
    from flask_caching import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
    CACHE_ARGS = {}
except ImportError:  # Flask-Cache 0.13
    from flask_cache import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "simple"}
    # 0.13's Jinja extension imports `flask.ext`, which Flask >= 1.0 no longer has.
    CACHE_ARGS = {"with_jinja2_ext": False}

app = Flask(__name__)
app.config.update(CACHE_THRESHOLD=4, **CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)

PRICES = {"tea": 3, "cake": 5}  # the "database"
LOOKUPS = []  # every item the body of price() looked up
RENDERS = []  # every time the menu page was rendered


@app.route("/menu")
@cache.cached(timeout=60)
def menu():
    RENDERS.append(len(RENDERS) + 1)
    return "menu, rendering %d" % len(RENDERS)


@cache.memoize(timeout=3600)
def price(item):
    LOOKUPS.append(item)
    return "%s: %d" % (item, PRICES[item])


client = app.test_client()
print("GET /menu ->", client.get("/menu").get_data(as_text=True))
print(price("tea"))
print(price("cake"))
PRICES["tea"] = 4
cache.delete_memoized(price)  # explain: version-reset-orphans
print(price("tea"))
print(price("cake"))  # computed again, the old cake entry is an orphan
print("GET /menu ->", client.get("/menu").get_data(as_text=True))  # pruned: rendered again
print(price("cake"))  # 2.4: computed a third time, the new version key was pruned too
print("lookups:", LOOKUPS)
