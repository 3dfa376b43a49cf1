"""Tools around the pipeline: the sample landing folder (``fairshare sample``) and the benchmark (``fairshare bench``)."""
