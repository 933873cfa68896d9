"""The JSON API."""

import warnings

from flask import Blueprint, abort, request

from . import services
from .errors import StaleCatalogWarning
from .extensions import cache
from .models import Author, Book

api = Blueprint("api", __name__)


@api.route("/authors/<int:author_id>")
@cache.cached(timeout=60, key_prefix="api/%s")
def author_detail(author_id):
    author = Author.get(author_id)
    if author is None:
        return {"error": "no such author"}, 404
    return {"id": author.id, "name": author.name, "books": author.book_titles()}


@api.route("/books/<int:book_id>/price")
def book_price(book_id):
    book = Book.get(book_id)
    if book is None:
        abort(404)
    return {"price": book.price_with_tax(float(request.args.get("rate", "0.2")))}


@api.route("/stats/popular")
def popular():
    return {"books": services.popular_books()}


@api.route("/v0/books")
def legacy_books():
    warnings.warn("/api/v0/books serves the old format; use /books", StaleCatalogWarning,
                  stacklevel=2)
    return {"count": Book.count()}
