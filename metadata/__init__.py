"""What drives tagging and balancing: lexicon loaders (UMLS RRF, MeSH XML), semantic
groups, the bundled default lexicon and the cached matcher artefact."""
