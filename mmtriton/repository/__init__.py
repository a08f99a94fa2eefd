"""Triton model repository: config.pbtxt generation from the spec and the repository writer."""
