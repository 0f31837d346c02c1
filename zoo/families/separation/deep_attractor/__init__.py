"""Deep attractor network (Chen et al. 2017): attractors in the embedding space -> soft masks."""
