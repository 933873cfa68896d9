"""Pitfall ``delete-cached-path-mismatch``: ``delete_cached`` given the percent-encoded URL
of a non-ASCII route (Flask-Caching 2.5).

``@cache.cached()`` on ``/café`` keys by ``request.path``, which Flask gives percent-decoded:
``GET /café`` (or ``GET /caf%C3%A9``) is stored under ``view//café``. The path as it appears
in the browser, in access logs and in ``url_for("cafe")`` is ``/caf%C3%A9``, and
``cache.delete_cached(cafe, "/caf%C3%A9")`` deletes ``view//caf%C3%A9``, which does not
exist: the next request is served the stale menu. (Inside a request,
``cache.delete_cached(cafe)`` without a path misses the same way: it builds the path with
``url_for``.)

Fix: ``cache.delete_cached(cafe, "/café")`` (the decoded path, as ``request.path`` has it).
"""

from flask import Flask
from flask_caching import Cache

app = Flask(__name__)
app.config.update(CACHE_TYPE="SimpleCache")
cache = Cache(app)

MENU = ["espresso", "latte"]


@app.route("/café")
@cache.cached(timeout=50)
def cafe():
    return ", ".join(MENU)


client = app.test_client()
print("GET /café        ->", client.get("/café").get_data(as_text=True))
MENU.append("mocha")
cache.delete_cached(cafe, "/caf%C3%A9")  # explain: delete-cached-path-mismatch
print("after the delete ->", client.get("/café").get_data(as_text=True))
