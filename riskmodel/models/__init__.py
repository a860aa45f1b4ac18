"""LightGBM risk models for FL and CL: labels, training tables, the estimator, the registry."""
