"""Front-end assets (htmx, Chart.js) installed from the npm registry into ``static/vendor``.

Vigil runs air-gapped: nothing is loaded from a CDN at run time. The versions are pinned in
``static/package.json`` / ``static/package-lock.json``; :func:`ensure_assets` installs them with
``npm ci`` when the vendored copies are missing, so a fresh clone needs no manual step.
"""

from __future__ import annotations

import shutil
import subprocess

from app.config import ROOT
from app.errors import VigilError

STATIC = ROOT / "static"
VENDOR = STATIC / "vendor"
# (file inside node_modules, name served under static/vendor)
VENDORED_FILES = (
    ("htmx.org/dist/htmx.min.js", "htmx.min.js"),
    ("chart.js/dist/chart.umd.min.js", "chart.umd.min.js"),
)


class AssetError(VigilError, RuntimeError):
    """The front-end assets could not be installed; the message says what to do."""


def missing_assets() -> list[str]:
    return [name for _src, name in VENDORED_FILES if not (VENDOR / name).is_file()]


def ensure_assets(*, force: bool = False) -> list[str]:
    """Install the pinned npm packages and copy the served files; return the files written."""
    if not force and not missing_assets():
        return []
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError("npm is required once to install htmx and Chart.js into static/vendor")
    result = subprocess.run(  # noqa: S603 - argv list from a trusted location
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", str(STATIC)],
        cwd=STATIC,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise AssetError("npm ci failed: " + " | ".join(tail))
    VENDOR.mkdir(exist_ok=True)
    written = []
    for src, name in VENDORED_FILES:
        source = STATIC / "node_modules" / src
        if not source.is_file():
            raise AssetError(f"npm package file missing after install: {src}")
        shutil.copyfile(source, VENDOR / name)
        written.append(name)
    return written
