from bookstore.models import Author, Book


def test_reprs_name_the_row(ctx):
    assert repr(Book.get(2)) == "Book(2)"
    assert repr(Author.get(1)) == "Author(1)"


def test_count_is_memoized(db):
    assert Book.count() == 6
    reads = db.queries
    assert Book.count() == 6
    assert db.queries == reads


def test_equal_reprs_share_entries(db):
    first, second = Book.get(4), Book.get(4)
    assert first is not second
    assert first.price_with_tax() == 15.9
    reads = db.queries
    assert second.price_with_tax() == 15.9
    assert db.queries == reads


def test_titles_are_memoized_per_author(db):
    lem, butler = Author.get(2), Author.get(3)
    assert lem.book_titles() == ["Solaris", "The Cyberiad"]
    reads = db.queries
    assert butler.book_titles() == ["Kindred", "Parable of the Sower"]
    assert db.queries == reads + 1
    assert lem.book_titles() == ["Solaris", "The Cyberiad"]
    assert db.queries == reads + 1


def test_price_with_tax_rates(db):
    book = Book.get(5)
    assert book.price_with_tax(0.0) == 10.0
    assert book.price_with_tax(rate=0.2) == 12.0
    assert book.price_with_tax() == 12.0
