"""The demo project registered on first run, so the dashboard has real findings at first login.

``sample_project`` is deliberately vulnerable code. It is never imported or executed: scanners only
read it. Dogfood scans of Vigil's own repository exclude it.
"""

from pathlib import Path

SAMPLE_PROJECT = Path(__file__).resolve().parent / "sample_project"
