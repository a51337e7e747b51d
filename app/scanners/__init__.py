"""Run security tools safely, or read their reports, producing ``list[NormalizedFinding]``.

No Flask and no database here (a test enforces it).
"""
