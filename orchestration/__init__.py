"""Dagster wiring: assets, resources, checks, schedules and sensors. Holds no SQL and no parsing."""
