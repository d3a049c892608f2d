"""The bundled CLIP trainer: training, evaluation and CLIP scoring on exported shards."""
