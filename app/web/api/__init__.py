"""The JSON API under ``/api/v1``: API keys only (``Authorization: Bearer``), never session cookies.

One blueprint per module, each registered in ``app.web.BLUEPRINTS``; the OpenAPI document that
describes them is served at ``/api/v1/openapi.json``.
"""

API_PREFIX = "/api/v1"
