"""Pitfall ``positional-only-collision``: a memoized function with a positional-only parameter.

``shipping(country, /, express=False)`` is memoized. Flask-Caching builds the key from the
positional-or-keyword parameters only (``express``) and appends the positional arguments
that come after them, so when ``express`` is passed by keyword the positional-only
``country`` is dropped: ``shipping("FR", express=True)`` and ``shipping("DE", express=True)``
both hash ``__main__.shipping(True,)OrderedDict()``. The German quote is served the French
one from the cache; the body never runs for "DE".

Fix: pass ``express`` positionally, ``shipping("DE", True)`` (keyed as ``("DE", True)``),
or drop the ``/`` from the signature.
"""

from flask import Flask
from flask_caching import Cache  # positional-only parameters need Python 3.8: no 0.13

app = Flask(__name__)
app.config.update(CACHE_TYPE="SimpleCache")
cache = Cache(app)

RATES = {"FR": 7, "DE": 9}  # the "database"
QUOTED = []  # every country the body computed a quote for


@cache.memoize(timeout=300)
def shipping(country, /, express=False):
    QUOTED.append(country)
    return "%s: %d EUR" % (country, RATES[country] * (2 if express else 1))


print("shipping('FR', express=True) ->", shipping("FR", express=True))
shipping("DE", express=True)  # explain: positional-only-collision
print("quotes computed for:", QUOTED)  # no "DE": the call was served the French quote
