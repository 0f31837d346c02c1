"""BLSTM time-frequency mask estimation (Erdogan et al. 2015; uPIT, Kolbaek et al. 2017)."""
