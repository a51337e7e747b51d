"""reports layer (see README: architecture)."""
