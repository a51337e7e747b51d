"""services layer (see README: architecture)."""
