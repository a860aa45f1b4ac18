"""All input checks for one as-of month, in order: schema, freshness, coverage, drift.

Schema problems make the later checks meaningless (a duplicated month or a wrong unit
poisons freshness and drift alike), so when the schema fails the other checks are skipped
and the report says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import xarray as xr

from features.cube import plan_features
from riskmodel.checks.coverage import check_coverage
from riskmodel.checks.drift import KEY, check_drift, feature_distribution
from riskmodel.checks.findings import CheckReport
from riskmodel.checks.freshness import check_freshness
from riskmodel.checks.schema import check_schema, required_inputs
from riskmodel.config import ChecksConfig


def reference_distribution(metas: Iterable[dict[str, Any]], cube: xr.Dataset,
                           inputs: xr.Dataset, time_label: Callable[[int], str],
                           bins: int) -> tuple[dict[str, Any] | None, str]:
    """The training distribution of the features, and where it came from.

    Prefers the one saved in a model's metadata. A model trained before training saved it
    gets it recomputed from its training window when the inputs still cover that window
    (the same function over the same months gives the same summary); otherwise None.
    """
    metas = list(metas)
    for meta in metas:
        if KEY in meta:
            return meta[KEY], "saved with the model"
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


def run_checks(inputs: xr.Dataset, cube: xr.Dataset | None, month: int, as_of: str,
               cfg: ChecksConfig, *, metas: Iterable[dict[str, Any]] = (),
               time_label: Callable[[int], str] = str,
               overrides: Iterable[str] = ()) -> CheckReport:
    """Check `inputs` (and the feature `cube`, for coverage and drift) at time index `month`.

    `metas`: metadata of the models that will score (for the training distribution);
    `overrides`: names among allow_stale, allow_missing, allow_drift. Returns the report;
    call `report.raise_for()` to stop on failures.
    """
    report = CheckReport(as_of=as_of, overrides=sorted(set(overrides)))
    # the features that will be built: the cube's, else those the inputs allow
    names = list(cube.data_vars) if cube is not None else plan_features(inputs)[0]
    variables = required_inputs([str(n) for n in names])
    n, found = check_schema(inputs, variables)
    report.add("schema", n, found)
    if report.failures():
        report.notes.append("schema failed: freshness, coverage and drift not checked")
        return report
    report.add("freshness", *check_freshness(inputs, variables, month, cfg))
    ref = None
    if cube is not None:
        ref, source = reference_distribution(metas, cube, inputs, time_label, cfg.drift_bins)
        report.notes.append(f"training distribution: {source}")
    report.add("coverage", *check_coverage(inputs, cube, variables, month,
                                           cfg.max_missing_share, ref))
    if cube is not None and ref is not None:
        n, found, values = check_drift(cube, month, inputs["country_id"].values, ref, cfg)
        report.add("drift", n, found)
        report.psi = values
    return report
