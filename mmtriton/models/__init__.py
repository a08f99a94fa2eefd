"""PyTorch towers and fusion (imports torch: load it only in training/export code)."""
