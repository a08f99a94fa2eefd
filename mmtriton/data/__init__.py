"""The reference data set: spoken digits (espeak-ng), rendered digits (Pillow), template captions."""
