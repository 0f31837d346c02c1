"""Deep clustering (Hershey et al. 2016): unit-norm T-F embeddings, k-means -> binary masks."""
