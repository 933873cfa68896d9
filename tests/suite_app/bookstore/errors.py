"""The app's warnings."""


class StaleCatalogWarning(UserWarning):
    """A client used an endpoint that serves the old catalogue format."""
