from bookstore import services
from bookstore.models import Author, Book


def test_get_book_is_memoized(db):
    assert services.get_book(1)["title"] == "A Wizard of Earthsea"
    reads = db.queries
    assert services.get_book(1)["title"] == "A Wizard of Earthsea"
    assert db.queries == reads


def test_update_price_invalidates_lookups(db):
    book = Book.get(1)
    assert services.get_book(1)["price"] == 12.5
    assert book.price_with_tax() == 15.0
    services.update_price(1, 20.0)
    assert services.get_book(1)["price"] == 20.0
    assert book.price_with_tax() == 24.0


def test_update_price_keeps_other_books(db):
    services.get_book(1)
    services.get_book(2)
    services.update_price(1, 9.0)
    reads = db.queries
    assert services.get_book(2)["price"] == 14.0
    assert db.queries == reads
    assert services.get_book(1)["price"] == 9.0
    assert db.queries == reads + 1


def test_retitle_invalidates_that_author_only(db):
    le_guin, lem = Author.get(1), Author.get(2)
    le_guin.book_titles()
    lem.book_titles()
    services.retitle_book(3, "Solaris!")
    reads = db.queries
    assert le_guin.book_titles() == ["A Wizard of Earthsea", "The Left Hand of Darkness"]
    assert db.queries == reads
    assert lem.book_titles() == ["Solaris!", "The Cyberiad"]
    assert db.queries == reads + 1


def test_add_book_invalidates_lists(db):
    assert Book.count() == 6
    assert services.books_by_author(2) == [3, 4]
    assert services.popular_books() == [6, 2, 4]
    book_id = services.add_book("Fiasco", 2, 16.0)
    assert book_id == 7
    assert Book.count() == 7
    assert services.books_by_author(2) == [3, 4, 7]
    assert services.popular_books() == [7, 6, 2]
    assert services.books_by_author(1) == [1, 2]


def test_add_book_updates_the_index_page(app, client):
    assert "7 Fiasco" not in client.get("/books").get_data(as_text=True)
    with app.app_context():
        services.add_book("Fiasco", 2, 16.0)
    assert client.get("/books").get_data(as_text=True).endswith("7 Fiasco")


def test_front_page_picks_use_both_caches(db):
    picks = ["Parable of the Sower", "The Left Hand of Darkness", "The Cyberiad"]
    assert services.front_page_picks() == picks
    reads = db.queries
    assert services.front_page_picks() == picks
    assert db.queries == reads
    services.update_price(5, 30.0)
    assert services.front_page_picks() == ["Kindred"] + picks[:2]
