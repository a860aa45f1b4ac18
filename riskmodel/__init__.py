"""riskmodel: predictive risk modelling for forced labour (FL) and child labour (CL)."""

__version__ = "0.1.0"
