"""Cohorts: many videos through the same analyses on Dask, from a laptop to a cluster.

``manifest.load_manifest`` reads a folder or a CSV/Parquet manifest; ``work.process_video``
analyses one video where a Dask worker runs it; ``batch.run_batch`` schedules them all and
gathers the cohort tables and report (``report``).
"""
