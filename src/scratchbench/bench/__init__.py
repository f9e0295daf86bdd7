"""Benchmarks: ``python -m scratchbench.bench mlp|cnn`` (one-epoch timings against a GEMM floor)."""
