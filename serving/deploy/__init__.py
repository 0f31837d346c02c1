"""Deployment files for the real tensorflow/serving image on the same model_base_path."""
