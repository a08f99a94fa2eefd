"""PyTorch -> ONNX export (dynamo exporter, opset 18) with a parity proof against PyTorch."""
