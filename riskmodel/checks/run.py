"""All input checks for one as-of month, in order: schema, freshness, coverage, drift.

Schema problems make the later checks meaningless (a duplicated month or a wrong unit
poisons freshness and drift alike), so when the schema fails the other checks are skipped
and the report says so. The checks come in two parts so a night stops on bad inputs before
it spends time scoring them: `input_checks` (schema, freshness, coverage of the inputs)
reads the inputs alone; `feature_checks` (coverage and drift of the features) reads the
as-of month's feature rows the scoring engine hands back. `run_checks` does both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import xarray as xr

from features.cube import plan_features
from riskmodel.checks.coverage import check_coverage, check_feature_coverage
from riskmodel.checks.drift import KEY, check_drift, feature_distribution
from riskmodel.checks.findings import CheckReport
from riskmodel.checks.freshness import check_freshness
from riskmodel.checks.rows import FeatureRows
from riskmodel.checks.schema import check_schema, required_inputs
from riskmodel.config import ChecksConfig


def reference_distribution(metas: Iterable[dict[str, Any]], cube: xr.Dataset | None,
                           inputs: xr.Dataset, time_label: Callable[[int], str],
                           bins: int) -> tuple[dict[str, Any] | None, str]:
    """The training distribution of the features, and where it came from.

    Prefers the one saved in a model's metadata. A model trained before training saved it
    gets it recomputed from its training window when the whole feature `cube` is at hand
    and the inputs still cover that window (the same function over the same months gives
    the same summary); otherwise None.
    """
    metas = list(metas)
    for meta in metas:
        if KEY in meta:
            return meta[KEY], "saved with the model"
    if cube is None:
        return None, (f"none in the model metadata ({KEY}), and the features of the "
                      f"training window are not built when scoring block by block")
    for meta in metas:
        window = meta.get("training_window")
        if not window:
            continue
        labels = [time_label(i) for i in range(inputs.sizes["time"])]
        if window[0] in labels and window[1] in labels:
            months = range(labels.index(window[0]), labels.index(window[1]) + 1)
            return (feature_distribution(cube, list(months), inputs["country_id"].values,
                                         bins=bins),
                    f"recomputed from the training window {window[0]}..{window[1]} (the "
                    f"model metadata has no {KEY})")
    return None, "no training distribution available (model metadata lacks it and the " \
                 "inputs do not cover the training window)"


def input_checks(inputs: xr.Dataset, month: int, as_of: str, cfg: ChecksConfig, *,
                 names: Sequence[str] | None = None,
                 overrides: Iterable[str] = ()) -> CheckReport:
    """Schema, freshness and coverage of `inputs` at time index `month`.

    `names`: the features that will be built (default: those the inputs allow), whose
    inputs are checked; `overrides`: names among allow_stale, allow_missing, allow_drift.
    """
    report = CheckReport(as_of=as_of, overrides=sorted(set(overrides)))
    names = list(names) if names is not None else plan_features(inputs)[0]
    variables = required_inputs([str(n) for n in names])
    n, found = check_schema(inputs, variables)
    report.add("schema", n, found)
    if report.failures():
        report.notes.append("schema failed: freshness, coverage and drift not checked")
        return report
    report.add("freshness", *check_freshness(inputs, variables, month, cfg))
    report.add("coverage", *check_coverage(inputs, variables, month, cfg.max_missing_share))
    return report


def feature_checks(report: CheckReport, rows: FeatureRows, reference: dict[str, Any] | None,
                   source: str, cfg: ChecksConfig) -> None:
    """Add coverage and drift of the as-of month's feature `rows` to `report`, against the
    training distribution `reference` (from `reference_distribution`, which says `source`);
    without one the features are not checked and the report says why."""
    report.notes.append(f"training distribution: {source}")
    if reference is None:
        return
    report.add("coverage", *check_feature_coverage(rows, reference, cfg.max_missing_share))
    n, found, values = check_drift(rows, reference, cfg)
    report.add("drift", n, found)
    report.psi = values


def run_checks(inputs: xr.Dataset, rows: FeatureRows | None, month: int, as_of: str,
               cfg: ChecksConfig, *, reference: dict[str, Any] | None = None,
               source: str = "none given", overrides: Iterable[str] = ()) -> CheckReport:
    """`input_checks`, then `feature_checks` of `rows` (the features at time index
    `month`) unless `rows` is None or the schema failed. Returns the report; call
    `report.raise_for()` to stop on failures."""
    report = input_checks(inputs, month, as_of, cfg,
                          names=rows.names if rows is not None else None, overrides=overrides)
    if rows is not None and not any(f.kind == "schema" for f in report.failures()):
        feature_checks(report, rows, reference, source, cfg)
    return report
