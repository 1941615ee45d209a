"""Storage: tables, engine, migrations and the record store. SQLite or PostgreSQL."""
