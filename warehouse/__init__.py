"""The DuckDB warehouse: schema, atomic per-file loads, audit tables (and, later, serving)."""
