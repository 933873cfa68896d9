"""Pitfall ``query-string-args-missing``: a ``query_string=True`` view deleted without its
query arguments (Flask-Caching 2.5).

``@cache.cached(query_string=True)`` on ``/search`` keys every query string separately:
``GET /search?q=tea&page=2`` is stored under ``view//search`` + the sha256 hex digest of
``str((('page', '2'), ('q', 'tea')))`` (the sorted pairs). ``cache.delete_cached(search,
"/search")`` without ``query_args`` hashes the arguments of the request in progress instead:
here an admin request with none, so it deletes ``view//search`` + sha256 of ``()``, which
does not exist, and the next search is served the stale results. (Outside any request it
raises ``RuntimeError: Working outside of request context``.)

Fix: ``cache.delete_cached(search, "/search", query_args={"q": "tea", "page": "2"})``
(``query_args="q=tea&page=2"`` works too, in any order; values go through ``str()``, so
``{"page": 2}`` matches ``page=2``).
"""

from flask import Flask, request
from flask_caching import Cache

app = Flask(__name__)
app.config.update(CACHE_TYPE="SimpleCache")
cache = Cache(app)

TEAS = ["green", "black"]


@app.route("/search")
@cache.cached(timeout=50, query_string=True)
def search():
    return "%s (page %s): %s" % (request.args["q"], request.args["page"], ", ".join(TEAS))


client = app.test_client()
print("GET /search?q=tea&page=2 ->", client.get("/search?q=tea&page=2").get_data(as_text=True))
TEAS.append("oolong")
with app.test_request_context("/admin/teas", method="POST"):  # an admin request invalidates
    cache.delete_cached(search, "/search")  # explain: query-string-args-missing
print("after the delete         ->", client.get("/search?q=tea&page=2").get_data(as_text=True))
