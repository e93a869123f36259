"""Storage of the domain in SQL: SQLite embedded, PostgreSQL in a cluster, one schema."""
