"""Export: training text, splits, shard order, selection, images, and the shard writers
(WebDataset tar and Parquet), plus the dataset card and Croissant file. No Beam here."""
