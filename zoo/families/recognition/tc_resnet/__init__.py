"""Temporal-convolution ResNets for keyword spotting (Choi et al. 2019)."""
