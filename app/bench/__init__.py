"""Benchmark support shared by the ``vigil bench ...`` commands (no Flask)."""
