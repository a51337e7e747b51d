"""metrics layer (see README: architecture)."""
