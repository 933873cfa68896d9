import time

from bookstore import create_app, services
from bookstore.extensions import cache, stats_cache
from conftest import queries

# Some suites build an app when the test module is imported.
IMPORTED_APP = create_app({"TESTING": True})


def test_app_built_at_import():
    with IMPORTED_APP.app_context():
        assert services.get_book(6)["title"] == "Parable of the Sower"
        assert services.get_book(6)["title"] == "Parable of the Sower"
    assert queries(IMPORTED_APP) == 1


def test_apps_have_separate_caches():
    first, second = create_app({"TESTING": True}), create_app({"TESTING": True})
    with first.app_context():
        services.get_book(2)
        services.get_book(2)
    with second.app_context():
        services.get_book(2)
    assert queries(first) == 1
    assert queries(second) == 1


def test_small_threshold_stays_correct():
    app = create_app({"TESTING": True, "CACHE_THRESHOLD": 3})
    with app.app_context():
        for _ in range(2):
            for book_id in (1, 2, 3, 4, 5, 6):
                assert services.get_book(book_id)["id"] == book_id


def test_default_timeout_from_config():
    app = create_app({"TESTING": True, "CACHE_DEFAULT_TIMEOUT": 1})
    with app.app_context():
        cache.set("banner", "Spring sale")
        assert cache.get("banner") == "Spring sale"
        time.sleep(1.5)
        assert cache.get("banner") is None


def test_stats_cache_has_its_own_settings(app):
    assert stats_cache.config["CACHE_DEFAULT_TIMEOUT"] == 10
    with app.app_context():
        assert stats_cache.cache.default_timeout == 10
        assert cache.cache.default_timeout == 300


def test_clear_is_per_app():
    first, second = create_app({"TESTING": True}), create_app({"TESTING": True})
    for app in (first, second):
        with app.app_context():
            cache.set_many({"a": 1, "b": 2})
    with first.app_context():
        assert cache.clear() is True
        assert cache.get_many("a", "b") == [None, None]
    with second.app_context():
        assert cache.get_many("a", "b") == [1, 2]
        assert cache.delete("a") is True
        assert cache.has("b") is True
