"""Attention RNN keyword spotters (de Andrade et al. 2018)."""
