"""HashLens engine: photo decoding, deep hashing, SQLite store, search and duplicates. No Qt here."""

__version__ = "0.1.0"
