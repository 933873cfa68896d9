"""Fixtures: a fresh app (own database, own caches) for every test, and one app shared by
the read-only tests of a module."""

import pytest

from bookstore import create_app
from bookstore.data import get_db


@pytest.fixture
def app():
    return create_app({"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """The app, with its context pushed for the test."""
    with app.app_context():
        yield app


@pytest.fixture
def db(ctx):
    return get_db()


@pytest.fixture(scope="module")
def shared_client():
    """A client of one app for all the read-only tests of a module."""
    return create_app({"TESTING": True}).test_client()


def queries(app):
    """How many reads the app's database has served."""
    return app.extensions["bookstore_db"].queries
