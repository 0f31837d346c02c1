"""Synthesis families (vocoders, acoustic models)."""
