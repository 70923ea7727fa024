"""PostgreSQL backend for sidequest."""
