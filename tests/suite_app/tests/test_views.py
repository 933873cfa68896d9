import time

from conftest import queries


def test_index_lists_books(client):
    page = client.get("/books").get_data(as_text=True)
    assert page.splitlines()[0] == "1 A Wizard of Earthsea"
    assert len(page.splitlines()) == 6


def test_index_is_cached(app, client):
    first = client.get("/books").get_data(as_text=True)
    reads = queries(app)
    assert client.get("/books").get_data(as_text=True) == first
    assert queries(app) == reads


def test_book_page(client):
    assert client.get("/books/3").get_data(as_text=True) == "Solaris by Stanisław Lem: 11.00"


def test_book_page_follows_price_update(client):
    assert client.get("/books/3").get_data(as_text=True).endswith("11.00")
    assert client.post("/books/3/price", data={"price": "12.75"}).get_data(as_text=True) == "ok"
    assert client.get("/books/3").get_data(as_text=True).endswith("12.75")


def test_missing_book_is_not_cached(app, client):
    from bookstore import services

    assert client.get("/books/7").status_code == 404
    with app.app_context():
        assert services.add_book("Fiasco", 2, 16.0) == 7
    assert client.get("/books/7").get_data(as_text=True) == "Fiasco by Stanisław Lem: 16.00"


def test_preview_bypasses_the_cache(app, client):
    client.get("/books/1")
    reads = queries(app)
    client.get("/books/1")
    assert queries(app) == reads
    client.get("/books/1?preview=1")
    assert queries(app) > reads


def test_search_keys_include_the_query_string(client):
    assert client.get("/search?q=the").get_data(as_text=True) == \
        "The Left Hand of Darkness, The Cyberiad, Parable of the Sower"
    assert client.get("/search?q=sol").get_data(as_text=True) == "Solaris"
    assert client.get("/search?q=zzz").get_data(as_text=True) == "no match"


def test_search_page_expires(app, client):
    from bookstore import services

    assert client.get("/search?q=solaris").get_data(as_text=True) == "Solaris"
    with app.app_context():
        services.retitle_book(3, "Solaris (new translation)")
    # The page is cached for a second, whatever the lookups say.
    assert client.get("/search?q=solaris").get_data(as_text=True) == "Solaris"
    time.sleep(1.5)
    assert client.get("/search?q=solaris").get_data(as_text=True) == "Solaris (new translation)"
