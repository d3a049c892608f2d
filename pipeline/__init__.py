"""Beam wiring: sources, sinks, one PTransform per stage, the CLI, the chain."""
