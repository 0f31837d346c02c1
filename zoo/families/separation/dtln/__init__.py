"""DTLN: dual-signal transformation LSTM network denoiser (Westhausen & Meyer 2020)."""
