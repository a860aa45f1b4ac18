"""Input checks before scoring: schema, freshness, coverage and drift (see docs/operations.md).

`run_checks` returns a `CheckReport`; `CheckReport.raise_for` stops the run with the exit
code of the most basic failing kind unless that kind is explicitly overridden.
"""

from riskmodel.checks.drift import feature_distribution
from riskmodel.checks.findings import CheckReport, Finding
from riskmodel.checks.run import run_checks

__all__ = ["CheckReport", "Finding", "feature_distribution", "run_checks"]
