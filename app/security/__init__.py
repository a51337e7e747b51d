"""Password hashing and policy, shared by the CLI and the web (no Flask here)."""
