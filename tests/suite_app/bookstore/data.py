"""A fixed in-memory database: every app gets a fresh copy of the same rows."""

from flask import current_app

AUTHORS = (
    (1, "Ursula K. Le Guin"),
    (2, "Stanisław Lem"),
    (3, "Octavia E. Butler"),
)

BOOKS = (
    (1, "A Wizard of Earthsea", 1, 12.5),
    (2, "The Left Hand of Darkness", 1, 14.0),
    (3, "Solaris", 2, 11.0),
    (4, "The Cyberiad", 2, 13.25),
    (5, "Kindred", 3, 10.0),
    (6, "Parable of the Sower", 3, 15.5),
)


class Database(object):
    """Authors and books, as rows (dicts). `queries` counts the reads, so that tests can
    tell an answer from the cache from a computed one."""

    def __init__(self):
        self.authors = {i: {"id": i, "name": name} for i, name in AUTHORS}
        self.books = {i: {"id": i, "title": title, "author_id": author, "price": price}
                      for i, title, author, price in BOOKS}
        self.queries = 0

    def author(self, author_id):
        self.queries += 1
        row = self.authors.get(author_id)
        return dict(row) if row else None

    def book(self, book_id):
        self.queries += 1
        row = self.books.get(book_id)
        return dict(row) if row else None

    def all_books(self):
        self.queries += 1
        return [dict(self.books[i]) for i in sorted(self.books)]

    def books_by(self, author_id):
        return [b for b in self.all_books() if b["author_id"] == author_id]

    def set_price(self, book_id, price):
        self.books[book_id]["price"] = price

    def set_title(self, book_id, title):
        self.books[book_id]["title"] = title

    def add_book(self, title, author_id, price):
        book_id = max(self.books) + 1
        self.books[book_id] = {"id": book_id, "title": title, "author_id": author_id,
                               "price": price}
        return book_id


def init_app(app):
    app.extensions["bookstore_db"] = Database()


def get_db():
    """The current app's database."""
    return current_app.extensions["bookstore_db"]
