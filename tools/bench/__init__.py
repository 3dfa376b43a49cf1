"""The benchmark (``fairshare bench``): see ``tools.bench.runner``."""

from tools.bench.runner import run

__all__ = ["run"]
