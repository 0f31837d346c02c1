"""GAN vocoders (MelGAN, Kumar et al. 2019; HiFi-GAN, Kong et al. 2020; Parallel WaveGAN's
multi-resolution STFT loss, Yamamoto et al. 2020): log-mel (TTS_MEL) -> waveform."""
