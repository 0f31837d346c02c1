"""Convolutional recurrent keyword spotters (Arik et al. 2017; Zhang et al. 2017)."""
