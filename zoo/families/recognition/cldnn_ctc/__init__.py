"""CLDNN (Sainath et al. 2015): convolution, LSTM and DNN layers, trained with CTC."""
