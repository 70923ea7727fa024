"""SQLite backend for sidequest."""
