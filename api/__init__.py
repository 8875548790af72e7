"""The user-facing layer: the FastAPI service and the ``flexaqa`` command line."""
