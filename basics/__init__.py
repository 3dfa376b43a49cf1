"""Basics every layer uses and that import nothing of the project: settings, paths, region packs, formatting."""
