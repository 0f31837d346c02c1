"""Separation and enhancement families (SourceSeparator backbones)."""
