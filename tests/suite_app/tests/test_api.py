import pytest

from bookstore.errors import StaleCatalogWarning
from conftest import queries


def test_author_detail(shared_client):
    assert shared_client.get("/api/authors/3").get_json() == {
        "id": 3, "name": "Octavia E. Butler", "books": ["Kindred", "Parable of the Sower"]}


def test_unknown_author(shared_client):
    assert shared_client.get("/api/authors/42").status_code == 404


def test_book_price_with_tax(shared_client):
    assert shared_client.get("/api/books/1/price?rate=0.1").get_json() == {"price": 13.75}
    assert shared_client.get("/api/books/1/price").get_json() == {"price": 15.0}


def test_author_detail_is_cached(app, client):
    client.get("/api/authors/1")
    reads = queries(app)
    assert client.get("/api/authors/1").get_json()["name"] == "Ursula K. Le Guin"
    assert queries(app) == reads


def test_price_is_memoized_per_rate(app, client):
    client.get("/api/books/2/price?rate=0.5")
    reads = queries(app)
    assert client.get("/api/books/2/price?rate=0.5").get_json() == {"price": 21.0}
    # Book.get reads the row each time; price_with_tax does not.
    assert queries(app) == reads + 1
    assert client.get("/api/books/2/price?rate=0.25").get_json() == {"price": 17.5}
    assert queries(app) == reads + 3


def test_popular_books(client):
    assert client.get("/api/stats/popular").get_json() == {"books": [6, 2, 4]}


def test_legacy_endpoint_warns(client):
    with pytest.warns(StaleCatalogWarning):
        assert client.get("/api/v0/books").get_json() == {"count": 6}
