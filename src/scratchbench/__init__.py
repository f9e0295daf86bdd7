"""scratchbench: from-scratch NumPy neural networks against framework baselines."""

__version__ = "0.1.0"
