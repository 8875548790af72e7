"""The flexaqa HTTP service: the same operations as the command line, over ``api.core`` and ``kg``.

``create_app(settings)`` (``api.service.app``) builds the FastAPI application; ``flexaqa serve`` runs it.
"""
