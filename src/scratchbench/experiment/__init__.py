"""Run logic behind ``scratchbench.train``: caps, probes, curves and the R8 activations task."""
