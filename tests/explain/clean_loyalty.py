"""A loyalty programme whose memoized values are invalidated correctly: `flaskcache
explain` must report no finding on its traces.

- ``Member.discount(total)``: the programme's rate changes for every member, so the
  method is invalidated for every instance with ``delete_memoized(Member.discount)``; one
  member's discount is capped and comes out the same after the change;
- ``item_name(item_id)`` is called with the id as the URL gave it (``"7"``); an update
  deletes the entry in both forms the code base uses, ``delete_memoized(item_name, 7)``
  (not cached: deletes nothing) and ``delete_memoized(item_name, "7")`` (the live one);
- ``points(member_id)`` has a 10 s timeout: entries written at t=1000 and t=1005 expire on
  their own, and are computed again after ``time.sleep`` (virtual under the recorder).
  (Flask-Caching 2.4 gives the version key the timeout of the first entry, so at t=1011
  ``points(2)`` is computed again there, its entry orphaned; 2.5 hits it until t=1015.)

Runs with plain ``python clean_loyalty.py`` on Flask-Caching 2.5 / 2.4 (15 s of real sleep).
"""

import time

from flask import Flask
from flask_caching import Cache

app = Flask(__name__)
app.config.update(CACHE_TYPE="SimpleCache", CACHE_DEFAULT_TIMEOUT=300)
cache = Cache(app)

# The "database".
PROGRAMME = {"rate": 0.10, "cap": 5}
ITEMS = {7: "teapot", 8: "kettle"}
POINTS = {1: 120, 2: 40}
RUNS = {"count": 0}


def run():
    RUNS["count"] += 1
    return RUNS["count"]


class Member(object):
    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return "Member(%d)" % self.n

    @cache.memoize(timeout=120)
    def discount(self, total):
        run()
        return min(round(total * PROGRAMME["rate"]), PROGRAMME["cap"])


@cache.memoize(timeout=120)
def item_name(item_id):
    return "%s (run %d)" % (ITEMS[int(item_id)], run())


@cache.memoize(timeout=10)
def points(member_id):
    return "%d points (run %d)" % (POINTS[member_id], run())


with app.app_context():
    print("== a programme-wide change")
    ann, bob = Member(1), Member(2)
    print("ann.discount(30) -> %r, bob.discount(200) -> %r" % (ann.discount(30), bob.discount(200)))
    PROGRAMME["rate"] = 0.15
    cache.delete_memoized(Member.discount)  # every member's discount depends on the rate
    print("ann.discount(30) -> %r, bob.discount(200) -> %r" % (ann.discount(30), bob.discount(200)))

    print("== an id in both forms")
    print("item_name('7') -> %r" % item_name("7"))
    ITEMS[7] = "teapot (large)"
    cache.delete_memoized(item_name, 7)  # the int form: not cached, deletes nothing
    cache.delete_memoized(item_name, "7")
    print("item_name('7') -> %r" % item_name("7"))

    print("== timeouts")
    print("points(1) -> %r" % points(1))
    time.sleep(5)
    print("points(2) -> %r" % points(2))
    time.sleep(6)
    print("points(1) -> %r (expired, computed again)" % points(1))
    print("points(2) -> %r (2.5: a hit; 2.4: computed again)" % points(2))
    time.sleep(5)
    print("points(2) -> %r (2.5: expired, computed again; 2.4: a hit)" % points(2))
