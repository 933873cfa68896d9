"""The app's caches. Both are bound to every app `create_app` makes."""

from flask_caching import Cache

# Pages and lookups; configured from the app's config.
cache = Cache()

# Statistics: short-lived, with settings of their own whatever the app's config says.
stats_cache = Cache(config={"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 10,
                            "CACHE_THRESHOLD": 50})
