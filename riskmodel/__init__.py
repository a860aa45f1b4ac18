"""riskmodel: predictive risk modelling for forced labour (FL) and child labour (CL)."""

import os

__version__ = "0.1.0"

# LightGBM's OpenMP threads spin while they wait for each other; on a small shared machine
# (2 cores, other jobs) that turned 4 s fits into 50 s ones. Passive waiting must be set
# before OpenMP starts, i.e. before lightgbm is imported; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
