"""URL converters: object ids in paths are bounded to what the database columns can hold.

Werkzeug's ``int`` converter accepts any number of digits; an id such as 10**30 would reach the
database driver and fail there (a 500). Bounding it makes such a URL a plain 404.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # INTEGER primary keys on PostgreSQL are 32-bit


class BoundedIntConverter(IntegerConverter):
    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
