"""Training: data loading through the shared preprocessing, the loop, checkpoints and metrics."""
