"""Reading the three suppliers' files: header/value mapping, pseudonymisation, quarantine.

This package knows files, never DuckDB: it turns one landing file into canonical rows,
quarantined rows and a load report (see ``ingest.loader.open_file``).
"""
