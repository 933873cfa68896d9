"""Lookups (memoized) and the writes that keep the caches right."""

from .data import get_db
from .extensions import cache, stats_cache
from .models import Author, Book


@cache.memoize(timeout=60)
def get_book(book_id):
    return get_db().book(book_id)


@cache.memoize(timeout=60)
def books_by_author(author_id):
    return [b["id"] for b in get_db().books_by(author_id)]


@cache.memoize(timeout=30)
def search_titles(term, limit=3):
    term = term.lower()
    return [b["title"] for b in get_db().all_books() if term in b["title"].lower()][:limit]


@stats_cache.memoize()
def popular_books():
    """The three dearest books: the shop's idea of popular."""
    ranked = sorted(get_db().all_books(), key=lambda b: (-b["price"], b["id"]))
    return [b["id"] for b in ranked[:3]]


@cache.memoize(timeout=60)
def front_page_picks():
    """The titles of the popular books (the ranking itself lives in `stats_cache`)."""
    return [get_book(book_id)["title"] for book_id in popular_books()]


def forget_page(view, path):
    """Drops the cached page of `view` (a `@cache.cached` view with the default
    `key_prefix`) at `path`."""
    if hasattr(cache, "delete_cached"):
        cache.delete_cached(view, path=path)
    else:
        # Flask-Caching 2.4 has no delete_cached: the key is key_prefix % request.path.
        cache.delete("view/%s" % path)


def update_price(book_id, price):
    from .views import book_page

    get_db().set_price(book_id, price)
    cache.delete_memoized(get_book, book_id)
    cache.delete_memoized(Book.price_with_tax)
    stats_cache.delete_memoized(popular_books)
    cache.delete_memoized(front_page_picks)
    forget_page(book_page, "/books/%d" % book_id)


def retitle_book(book_id, title):
    from .views import book_index, book_page

    book = get_book(book_id)
    get_db().set_title(book_id, title)
    cache.delete_memoized(get_book, book_id)
    cache.delete_memoized(Author.book_titles, Author.get(book["author_id"]))
    cache.delete_memoized(search_titles)
    forget_page(book_page, "/books/%d" % book_id)
    forget_page(book_index, "/books")


def add_book(title, author_id, price):
    from .views import book_index, book_page

    book_id = get_db().add_book(title, author_id, price)
    # A lookup of the new id may have found nothing (and Flask-Caching 2.5 keeps that).
    cache.delete_memoized(get_book, book_id)
    cache.delete_memoized(books_by_author, author_id)
    cache.delete_memoized(Book.count)
    cache.delete_memoized(Author.book_titles, Author.get(author_id))
    cache.delete_memoized(search_titles)
    stats_cache.delete_memoized(popular_books)
    cache.delete_memoized(front_page_picks)
    forget_page(book_index, "/books")
    # The new id's page may be cached as "no such book".
    forget_page(book_page, "/books/%d" % book_id)
    return book_id
