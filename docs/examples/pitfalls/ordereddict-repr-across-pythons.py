"""Pitfall ``ordereddict-repr-across-pythons``: a shared cache's key depends on the Python.

A memoize key hashes the keyword arguments that go to ``**kwargs`` (or to keyword-only
parameters) as ``repr(OrderedDict(...))``, and Python 3.12 changed that repr from
``OrderedDict([('fmt', 'pdf')])`` to ``OrderedDict({'fmt': 'pdf'})``. A web process on
Python 3.11 and a worker on 3.12 that share one Redis compute different keys for
``report(2024, fmt="pdf")``: the worker's ``cache.delete_memoized(report, 2024, fmt="pdf")``
deletes its own key, and the web process keeps serving the stale report.

Fix: give the function a named parameter for such a value (``def report(year, fmt="html",
**opts)``: a named parameter is keyed by position, alike on every Python), or run every
process that shares the cache on one Python minor version.

Under ``python -m flaskcache_recorder`` the Redis server is an in-process fakeredis. Run
plainly, the script needs a Redis server at ``REDIS_URL`` (default
``redis://localhost:6379/15``).
"""

import os

from flask import Flask
from flask_caching import Cache

app = Flask(__name__)
app.config.update(
    CACHE_TYPE="RedisCache",
    CACHE_REDIS_URL=os.environ.get("REDIS_URL", "redis://localhost:6379/15"),
)
cache = Cache(app)

SALES = {2024: 10}


@cache.memoize(timeout=600)
def report(year, **opts):
    return "%d sales in %d (%s)" % (SALES[year], year, opts.get("fmt", "html"))


with app.app_context():
    print(report(2024, fmt="pdf"))  # explain: ordereddict-repr-across-pythons
    print(report(2024, fmt="pdf"))
