"""RNN transducer (Graves 2012): encoder + small LSTM prediction network + joint network."""
