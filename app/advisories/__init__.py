"""Offline advisories: an OSV mirror and a matcher for Python dependency files (no Flask, no DB).

``sources`` reads OSV documents from a zip, a folder or a file under hard caps; ``osv`` validates a
record; ``matcher`` compiles records into an :class:`~app.advisories.matcher.AdvisoryIndex` and
evaluates PEP 440 versions against OSV ranges; ``inventory`` reads requirements files, manifests,
lock files and SBOMs; ``findings`` turns matches into ``NormalizedFinding``s; ``scanner`` is the
``osv`` entry of ``SCANNERS``. Storage and re-evaluation live in ``app.services.advisories``.
"""
