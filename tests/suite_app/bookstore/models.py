"""Authors and books. Their reprs name the row (`Book(3)`): Flask-Caching builds the
keys of memoized methods from the receiver's repr, so two objects for the same row share
their cached answers."""

from .data import get_db
from .extensions import cache


class Author(object):
    def __init__(self, author_id, name):
        self.id = author_id
        self.name = name

    def __repr__(self):
        return "Author(%d)" % self.id

    @classmethod
    def get(cls, author_id):
        row = get_db().author(author_id)
        return cls(row["id"], row["name"]) if row else None

    @cache.memoize(timeout=120)
    def book_titles(self):
        """The titles of the author's books, in catalogue order."""
        return [b["title"] for b in get_db().books_by(self.id)]


class Book(object):
    def __init__(self, book_id, title, author_id):
        self.id = book_id
        self.title = title
        self.author_id = author_id

    def __repr__(self):
        return "Book(%d)" % self.id

    @classmethod
    def get(cls, book_id):
        row = get_db().book(book_id)
        return cls(row["id"], row["title"], row["author_id"]) if row else None

    @cache.memoize(timeout=60)
    def price_with_tax(self, rate=0.2):
        return round(get_db().book(self.id)["price"] * (1 + rate), 2)

    @classmethod
    @cache.memoize(timeout=300)
    def count(cls):
        return len(get_db().all_books())
