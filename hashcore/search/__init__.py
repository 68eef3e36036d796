"""Bit packing, scan back-ends (reference, NumPy, compiled), the multi-index hash, duplicates."""
