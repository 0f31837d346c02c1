"""Griffin-Lim phase reconstruction (Griffin & Lim 1984; fast variant: Perraudin et al. 2013), the
signal-processing baseline vocoder: mel or magnitude spectrogram -> waveform, no training."""
