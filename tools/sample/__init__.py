"""The sample landing folder of a region (``fairshare sample``): see ``tools.sample.writer``."""

from tools.sample.model import SampleError
from tools.sample.writer import SampleSummary, write_sample

__all__ = ["SampleError", "SampleSummary", "write_sample"]
