"""The one SQLite file: schema, migrations, every query, and the shared in-memory code cache."""
