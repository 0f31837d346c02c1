"""DeepSpeech2-style recognisers (Amodei et al. 2016): 2D conv subsampling + (Bi)GRU, CTC."""
