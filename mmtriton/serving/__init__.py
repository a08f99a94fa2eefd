"""Triton-side code: the Python-backend base class and models, and the embedded server launcher."""
