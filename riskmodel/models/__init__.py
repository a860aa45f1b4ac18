"""LightGBM risk models for FL and CL: labels, training tables, time folds, the estimator
and its interval, the registry, metrics and the out-of-time evaluation (docs/models.md)."""
