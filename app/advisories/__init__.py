"""advisories layer (see README: architecture)."""
