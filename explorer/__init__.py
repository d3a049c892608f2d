"""A local, read-only web explorer of a run's output folder (DuckDB over the Parquet shards)."""
