"""Quality rules: GX suites on the canonical tables and marts, and the gate before the BO report."""
