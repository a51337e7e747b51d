"""scheduler layer (see README: architecture)."""
