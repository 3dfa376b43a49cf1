"""The benchmark (``fairshare bench``): see ``fairshare.bench.runner``."""

from fairshare.bench.runner import run

__all__ = ["run"]
