"""Pitfall `memoize-default-args`: a delete that leaves out an argument the call passed.

``report(year, fmt="html")`` is memoized and the app calls ``report(2024, "pdf")``. The
delete ``cache.delete_memoized(report, 2024)`` does not mean "every report of 2024": the
arguments are normalised like a call, the missing ``fmt`` is filled in with its default,
so it deletes the key of ``report(2024, "html")`` only. The pdf entry survives and is
served stale.

Fix: pass the same arguments as the call, ``cache.delete_memoized(report, 2024, "pdf")``
(``fmt="pdf"`` by keyword is the same key); ``cache.delete_memoized(report)`` invalidates
every call of ``report``.
"""

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
app.config.update(**CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)

SALES = {2024: 10}  # the "database"


@cache.memoize(timeout=600)
def report(year, fmt="html"):
    return "%s report %d: %d sales" % (fmt, year, SALES[year])


print("report(2024, 'pdf') ->", report(2024, "pdf"))
SALES[2024] = 12
cache.delete_memoized(report, 2024)  # explain: memoize-default-args
print("report(2024, 'pdf') ->", report(2024, "pdf"))  # stale: 10 sales
