"""The reference data set: spoken digits (four speech engines), printed and handwritten digits, natural captions."""
