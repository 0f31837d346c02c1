"""Fully connected keyword spotters (Chen et al. 2014)."""
