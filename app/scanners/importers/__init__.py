"""Report formats Vigil reads. ``IMPORTERS`` maps a format name to its :class:`Importer`.

Adding a format is one module exposing ``IMPORTER`` plus one line here.
"""

from __future__ import annotations

from app.scanners.importers import sarif
from app.scanners.importers.base import Importer, ParsedReport

IMPORTERS: dict[str, Importer] = {
    # Order matters for auto-detection: specific formats first, generic shapes last.
    sarif.IMPORTER.name: sarif.IMPORTER,
}

__all__ = ["IMPORTERS", "Importer", "ParsedReport"]
