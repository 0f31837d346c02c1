"""Convolutional keyword spotters (Sainath & Parada 2015)."""
