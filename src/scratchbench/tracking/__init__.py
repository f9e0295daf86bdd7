"""MLflow tracking: store initialisation, run logging, sweep parent runs, provenance."""

from scratchbench.tracking.store import TrackingError, experiment_name, init_store, resolve_uri

__all__ = ["TrackingError", "experiment_name", "init_store", "resolve_uri"]
