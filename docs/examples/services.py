"""A service layer memoized with Flask-Caching: instance, class and static methods.

- ``AccountService.profile`` (an instance method) is cached per service instance. The
  instance is identified by ``__caching_id__`` (Flask-Caching 2.5; 2.4 calls it wrongly and
  runs the method uncached every time, logging a TypeError; Flask-Cache 0.13 ignores it and
  uses ``repr``). Deleting one entry: ``delete_memoized(svc.profile, 42)`` works from 2.5 on;
  ``delete_memoized(AccountService.profile, svc, 42)`` everywhere.
- ``Billing.plan_limits`` (a classmethod) calls the memoized static method
  ``exchange_rate``: a cached call made inside another one's body. (``Billing`` has no
  ``__caching_id__``: Flask-Caching would call an instance-method ``__caching_id__`` on
  the class itself for a classmethod, and fail.)
- ``exchange_rate`` uses ``make_name`` (the hashed name is "fx:" + the function's name) and
  keyword arguments.
- ``search`` ignores its ``request_id`` argument (``args_to_ignore``, Flask-Caching >= 1.10),
  takes a keyword-only ``sort`` and free ``**filters``: Flask-Cache 0.13 cannot build keys
  for keyword-only parameters and runs ``search`` uncached (logging a ValueError).
- A Flask view (not cached itself) uses the service; its memoized calls happen inside the
  request.

Runs with plain ``python services.py`` on Flask-Caching 2.5 / 2.4 and Flask-Cache 0.13
(12 s of real ``time.sleep``; under the recorder the clock is virtual). At the end the
clock crosses the timeouts; Flask-Caching 2.4 expires the version key of
``exchange_rate`` with the first entry it was written for, so the entry written later is
orphaned there, while 2.5 refreshes the version key on every write.
"""

import inspect
import json
import time
from dataclasses import dataclass, field
from typing import List

from flask import Flask

try:
    from flask_caching import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
    CACHE_ARGS = {}
except ImportError:  # Flask-Cache 0.13
    from flask_cache import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "simple"}
    CACHE_ARGS = {"with_jinja2_ext": False}

HAS_ARGS_TO_IGNORE = "args_to_ignore" in inspect.signature(Cache.memoize).parameters

app = Flask(__name__)
app.config.update(CACHE_DEFAULT_TIMEOUT=300, CACHE_THRESHOLD=100, **CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)

DB = {
    "acme": {42: "Ann Lee", 43: "Bo Chen"},
    "globex": {42: "Gia Rossi"},
}
RATES = {("USD", "EUR"): 0.92, ("USD", "GBP"): 0.79}
PLANS = {"free": 100, "pro": 5000}
CALLS = {"db": 0}


def db_hit():
    CALLS["db"] += 1
    return CALLS["db"]


@dataclass
class Profile:
    tenant: str
    user_id: int
    name: str
    orders: List[str] = field(default_factory=list)
    query: int = 0


class AccountService(object):
    def __init__(self, tenant):
        self.tenant = tenant

    def __repr__(self):
        return "AccountService(%r)" % self.tenant

    def __caching_id__(self):
        return "tenant:" + self.tenant

    @cache.memoize(timeout=300)
    def profile(self, user_id, with_orders=False):
        orders = ["order-%d" % user_id] if with_orders else []
        return Profile(self.tenant, user_id, DB[self.tenant][user_id], orders, db_hit())



class Billing(object):
    """Class-level data only: memoized class and static methods."""

    @classmethod
    @cache.memoize(timeout=600)
    def plan_limits(cls, plan, currency="USD"):
        base = PLANS[plan] / 100.0
        price = base if currency == "USD" else round(base * cls.exchange_rate("USD", quote=currency), 2)
        return {"plan": plan, "requests": PLANS[plan], "price": price, "query": db_hit()}

    @staticmethod
    @cache.memoize(timeout=12, make_name=lambda name: "fx:" + name)
    def exchange_rate(base, quote="EUR"):
        db_hit()
        return RATES[(base, quote)]


@cache.memoize(timeout=5, **({"args_to_ignore": ["request_id"]} if HAS_ARGS_TO_IGNORE else {}))
def search(term, page=1, request_id=None, *, sort="relevance", **filters):
    hits = ["%s-%d" % (term, i) for i in range(page * 2 - 1, page * 2 + 1)]
    if sort == "name":
        hits.sort(reverse=True)
    return (hits, sorted(filters.items()), db_hit())


acme = AccountService("acme")
globex = AccountService("globex")


@app.route("/tenants/<tenant>/users/<int:user_id>")
def user_page(tenant, user_id):
    service = AccountService(tenant)
    profile = service.profile(user_id, with_orders=True)
    return json.dumps({"name": profile.name, "orders": profile.orders, "query": profile.query})


def show(label, fn, *args, **kwargs):
    try:
        print("%-50s -> %r" % (label, fn(*args, **kwargs)))
    except Exception as exc:
        print("%-50s -> %s: %s" % (label, type(exc).__name__, exc))


with app.app_context():
    print("== instance methods")
    show("acme.profile(42)", acme.profile, 42)
    show("acme.profile(user_id=42)", acme.profile, user_id=42)
    show("globex.profile(42)", globex.profile, 42)
    show("AccountService('acme').profile(42)", AccountService("acme").profile, 42)
    show("acme.profile(42, with_orders=True)", acme.profile, 42, with_orders=True)
    DB["acme"][42] = "Ann Lee-Park"
    show("cache.delete_memoized(acme.profile, 42)", cache.delete_memoized, acme.profile, 42)
    show("acme.profile(42)", acme.profile, 42)
    show("cache.delete_memoized(AccountService.profile, acme, 42)",
         cache.delete_memoized, AccountService.profile, acme, 42)
    show("acme.profile(42)", acme.profile, 42)
    show("cache.delete_memoized(acme.profile)", cache.delete_memoized, acme.profile)
    show("acme.profile(42, with_orders=True)", acme.profile, 42, with_orders=True)
    show("globex.profile(42)", globex.profile, 42)

    print("== class and static methods")
    show("Billing.plan_limits('pro', currency='EUR')", Billing.plan_limits, "pro", currency="EUR")
    show("Billing().plan_limits('pro', 'EUR')", Billing().plan_limits, "pro", "EUR")
    show("Billing.exchange_rate('USD')", Billing.exchange_rate, "USD")
    RATES[("USD", "EUR")] = 0.95
    show("cache.delete_memoized(Billing.exchange_rate, 'USD', quote='EUR')",
         cache.delete_memoized, Billing.exchange_rate, "USD", quote="EUR")
    show("Billing().exchange_rate('USD', 'EUR')", Billing().exchange_rate, "USD", "EUR")
    show("Billing.plan_limits('pro', currency='EUR')", Billing.plan_limits, "pro", currency="EUR")
    show("cache.delete_memoized(Billing.plan_limits, 'pro')",
         cache.delete_memoized, Billing.plan_limits, "pro")
    show("cache.delete_memoized(Billing.plan_limits, Billing, 'pro', currency='EUR')",
         cache.delete_memoized, Billing.plan_limits, Billing, "pro", currency="EUR")
    show("Billing.plan_limits('pro', currency='EUR')", Billing.plan_limits, "pro", currency="EUR")

    print("== functions: args_to_ignore, keyword-only and free keyword arguments")
    show("search('lamp', 2, request_id='r-1')", search, "lamp", 2, request_id="r-1")
    show("search('lamp', 2, request_id='r-2')", search, "lamp", 2, request_id="r-2")
    show("search('lamp', page=2, sort='name')", search, "lamp", page=2, sort="name")
    show("search('lamp', color='red')", search, "lamp", color="red")
    show("search('lamp', color='blue')", search, "lamp", color="blue")
    show("cache.delete_memoized(search, 'lamp', color='red')", cache.delete_memoized, search, "lamp", color="red")
    show("search('lamp', color='red')", search, "lamp", color="red")
    show("cache.delete_memoized_verhash(search)", cache.delete_memoized_verhash, search)
    show("search('lamp', 2, request_id='r-3')", search, "lamp", 2, request_id="r-3")

client = app.test_client()
print("== a view using the service")
for path in ("/tenants/acme/users/43", "/tenants/acme/users/43", "/tenants/globex/users/42"):
    print("GET %s -> %s" % (path, client.get(path).get_data(as_text=True)))

with app.app_context():
    print("== timeouts")
    time.sleep(6)
    show("search('lamp', 2, request_id='r-4')", search, "lamp", 2, request_id="r-4")
    show("Billing.exchange_rate('USD', quote='GBP')", Billing.exchange_rate, "USD", quote="GBP")
    time.sleep(6)
    show("Billing.exchange_rate('USD', quote='GBP')", Billing.exchange_rate, "USD", quote="GBP")
    show("Billing.exchange_rate('USD')", Billing.exchange_rate, "USD")
    show("acme.profile(42)", acme.profile, 42)
