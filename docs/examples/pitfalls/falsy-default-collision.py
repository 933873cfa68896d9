"""Pitfall ``falsy-default-collision`` (Flask-Caching <= 2.4): a falsy default keyed as None.

``search(term, page=0)`` is memoized; ``page=None`` means "every row" (an export), any
number one page of two rows. Flask-Caching 2.4 fills a left-out argument with its default
only when the default is truthy: ``page=0`` (like ``""``, ``False`` or ``()``) is keyed as
``None``, so ``search("tea")`` and ``search("tea", None)`` share the key of
``__main__.search('tea', None)OrderedDict()``. The first page is served the full export
from the cache; the body never runs for it. (Flask-Caching 2.5 and Flask-Cache 0.13 key it
as ``('tea', 0)``.)

Fix: pass the falsy default explicitly, ``search("tea", 0)`` (``page=0`` by keyword is the
same key), or upgrade to Flask-Caching 2.5.
"""

from flask import Flask
from flask_caching import Cache

app = Flask(__name__)
app.config.update(CACHE_TYPE="SimpleCache")
cache = Cache(app)

ROWS = {"tea": ["green", "black", "oolong", "mint"]}  # the "database"
COMPUTED = []  # every (term, page) the body ran for


@cache.memoize(timeout=300)
def search(term, page=0):
    COMPUTED.append((term, page))
    rows = ROWS[term]
    return rows if page is None else rows[page * 2:page * 2 + 2]


print("search('tea', None) ->", search("tea", None))
search("tea")  # explain: falsy-default-collision
print("computed:", COMPUTED)  # no ('tea', 0): the first page was served the whole export
