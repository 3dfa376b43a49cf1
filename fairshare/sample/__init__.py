"""The sample landing folder of a region (``fairshare sample``): see ``fairshare.sample.writer``."""

from fairshare.sample.writer import SampleSummary, write_sample

__all__ = ["SampleSummary", "write_sample"]
