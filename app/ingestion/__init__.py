"""ingestion layer (see README: architecture)."""
