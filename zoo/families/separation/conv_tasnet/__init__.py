"""Conv-TasNet (Luo & Mesgarani 2019): learned encoder/decoder with a TCN mask estimator."""
