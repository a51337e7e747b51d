"""Thin blueprints: parse the request, call one service, render a page or an htmx fragment.

``BLUEPRINTS`` is the registry: adding an area of the site is one module plus one line here.
"""

from __future__ import annotations

import importlib

from flask import Flask

BLUEPRINTS: tuple[str, ...] = (
    "app.web.health",
    "app.web.auth",
    "app.web.exceptions",
    "app.web.exception_tools",
    "app.web.api.exceptions",
    "app.web.account",
    "app.web.admin_users",
    "app.web.admin_keys",
    "app.web.admin_audit",
    "app.web.reports",
    "app.web.api.gate",
    "app.web.api.imports",
    "app.web.api.reports",
    "app.web.api.openapi",
    "app.web.api.scans",
    "app.web.dashboard",
    "app.web.findings",
    "app.web.projects",
    "app.web.scans",
)


def register_blueprints(app: Flask) -> None:
    for module_name in BLUEPRINTS:
        module = importlib.import_module(module_name)
        app.register_blueprint(module.bp)
        init = getattr(module, "init_app", None)
        if init is not None:
            init(app)
