"""DS-CNN keyword spotters (Zhang et al. 2017)."""
