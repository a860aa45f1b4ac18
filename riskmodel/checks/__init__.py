"""Input checks before scoring: schema, freshness, coverage and drift (see docs/operations.md).

`input_checks` and `feature_checks` (or `run_checks`, both) fill a `CheckReport`;
`CheckReport.raise_for` stops the run with the exit code of the most basic failing kind
unless that kind is explicitly overridden.
"""

from riskmodel.checks.drift import feature_distribution
from riskmodel.checks.findings import CheckReport, Finding
from riskmodel.checks.rows import FeatureRows
from riskmodel.checks.run import feature_checks, input_checks, run_checks

__all__ = ["CheckReport", "FeatureRows", "Finding", "feature_checks", "feature_distribution",
           "input_checks", "run_checks"]
