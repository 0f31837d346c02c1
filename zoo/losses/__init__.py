"""Training losses. Import from the modules; for speech recognition (blank id 0):
zoo.losses.ctc_loss (CTCLoss, ctc_loss) and zoo.losses.rnnt_loss (RNNTLoss, rnnt_loss), each a
function returning f32[B] and a registered Keras loss."""
