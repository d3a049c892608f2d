"""Dedup: exact, perceptual and caption-embedding duplicates, SemDeDup clusters and
decontamination, as pure functions the Beam stage wires together (pipeline/stages/dedup.py).

prepare (hash each record) -> pool pass (whole-pool exact/pHash groups, k-means centroids)
-> group key (cluster) -> unit (crop rule, caption near-duplicates, eval overlap, Drops).
"""
