"""The catalogue's pages."""

from flask import Blueprint, request

from . import services
from .data import get_db
from .extensions import cache
from .models import Author

catalog = Blueprint("catalog", __name__)


def _preview():
    """`?preview=1` shows the page as it is now, bypassing the cache."""
    return request.args.get("preview") == "1"


@catalog.route("/books")
@cache.cached(timeout=30)
def book_index():
    return "\n".join("%d %s" % (b["id"], b["title"]) for b in get_db().all_books())


@catalog.route("/books/<int:book_id>")
@cache.cached(timeout=30, unless=_preview)
def book_page(book_id):
    book = services.get_book(book_id)
    if book is None:
        # Returned, not raised: the "not found" page is cached like any other.
        return "no such book", 404
    author = Author.get(book["author_id"])
    return "%s by %s: %.2f" % (book["title"], author.name, book["price"])


@catalog.route("/search")
@cache.cached(timeout=1, query_string=True)
def search():
    return ", ".join(services.search_titles(request.args.get("q", ""))) or "no match"


@catalog.route("/books/<int:book_id>/price", methods=["POST"])
def set_price(book_id):
    services.update_price(book_id, float(request.form["price"]))
    return "ok"
