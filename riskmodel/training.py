"""Training stage: fit one `RiskModel` per target and register it, or load it.

A model is identified by a hash of everything that determines it (target, world config,
seed, model config, feature list, code version); `ensure_model` loads it from the registry
when present and trains it otherwise (`riskmodel.models.fitting`), so nightly runs train
once per configuration.

With `[model] outcomes_partner` (one partner id or several) every such partner also gets
its own model per target (`ensure_partner_models`): identified cases plus that partner's
visit outcomes as training rows, and area offsets fitted from them, read fresh from the
alert store through the partner gate; its id covers the outcomes, so new outcomes make a
new model. A partner's model scores only the countries it covers, which no other partner
may share (`check_outcome_partners`), so one partner's outcomes never reach another's view.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import xarray as xr

from riskmodel import __version__
from riskmodel.alerts.feedback import labels as feedback_labels
from riskmodel.alerts.partners import PartnersConfig, load_partners
from riskmodel.alerts.store import AlertStore
from riskmodel.checks.drift import KEY, feature_distribution
from riskmodel.config import RunConfig
from riskmodel.errors import ModelError
from riskmodel.models.fitting import (
    COVERAGE_FEATURE,
    fit_model,
    reference_values,
    table_hash,
    training_months,
    training_table,
    with_outcomes,
)
from riskmodel.models.outcomes import (
    OutcomeSet,
    exposure_of,
    fit_area_offsets,
    from_feedback,
    offsets_record,
)
from riskmodel.models.registry import (
    FORMAT_VERSION,
    RegisteredModel,
    load_model,
    model_dir,
    save_model,
)

OPTIONAL_MODEL_KEYS = {"linear_base": False, "calibration": "isotonic"}


def model_id(cfg: RunConfig, target: str, features: tuple[str, ...],
             outcomes: OutcomeSet | None = None, outcome_weight: float = 1.0,
             prior_sd: float | None = None) -> str:
    """Hash (12 hex) of what determines the model for `target` (with `outcomes`, their
    partner, digest, weight and the offsets' prior sd too: new outcomes make a new
    model)."""
    # The outcome switch enters through `outcomes` (partner, digest, weight), not the dump.
    model = cfg.model.model_dump(mode="json", exclude={"registry", "threads",
                                                       "outcomes_partner", "outcome_weight",
                                                       "outcome_prior_sd"})
    # Keys added after models were registered count only when set, so existing ids hold.
    for name, default in OPTIONAL_MODEL_KEYS.items():
        if model.get(name) == default:
            model.pop(name)
    key = {"target": target, "world": cfg.world.model_dump(mode="json"), "seed": cfg.seed,
           "model": model,
           "features": list(features), "code_version": __version__,
           "format_version": FORMAT_VERSION}
    if outcomes is not None:
        key["outcomes"] = {"partner": outcomes.partner, "sha256": outcomes.digest(),
                           "weight": outcome_weight}
        if prior_sd is not None:
            key["outcomes"]["prior_sd"] = prior_sd
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def ensure_model(cfg: RunConfig, inputs: xr.Dataset, cube: xr.Dataset, target: str,
                 *, retrain: bool = False, train: bool = True,
                 time_label: Callable[[int], str] = str,
                 progress: Callable[[int, int], None] | None = None,
                 outcomes: OutcomeSet | None = None, outcome_weight: float = 1.0,
                 prior_sd: float | None = None) -> tuple[RegisteredModel, bool]:
    """Load the registered model for this config and target, or train and register it.

    With `outcomes` (one partner's visits, `riskmodel.models.outcomes`) the model is that
    partner's: trained on identified cases plus the outcome rows (weight `outcome_weight`
    per visited cell), its id covering the outcomes, its metadata saying how many it saw;
    with `prior_sd` too, the area offsets fitted from the outcomes on the trained model
    (prior sd `prior_sd`) are stored in its metadata (`outcomes.area_offsets`), which
    scoring adds to the areas' log-odds (`riskmodel.models.outcomes.apply_area_offsets`).

    With `train=False` a missing model is a `ModelError` (scoring never trains). Returns
    the registered model (a freshly trained one as read back from the registry) and
    whether it was fitted now.
    """
    features = tuple(str(n) for n in cube.data_vars)
    mid = model_id(cfg, target, features, outcomes, outcome_weight,
                   prior_sd if outcomes is not None else None)
    folder = model_dir(cfg.model.registry, target, mid)
    if folder.exists() and not retrain:
        return load_model(folder, features=features, threads=cfg.model.threads), False
    if not train:
        raise ModelError(f"no {target} model registered for this config in {folder.parent}/ "
                         f"(expected {folder.name}); run `riskmodel train` with this config "
                         f"first")
    months = training_months(inputs.sizes["time"], cfg.model.horizon)
    table = training_table(cfg, inputs, cube, target, features, months)
    reference = reference_values(cfg, table)
    if outcomes is not None:
        table, reference = with_outcomes(cfg, table, cube, outcomes, outcome_weight)
    model = fit_model(cfg, table, target, progress)
    meta = {
        "model_id": mid, "target": target, "horizon": cfg.model.horizon,
        "training_window": [time_label(int(months[0])), time_label(int(months[-1]))],
        "data_sha256": table_hash(table), "rows": len(table.y),
        "positives": int(table.y.sum()),
        "sampling": {"negative_rate": cfg.model.negative_rate,
                     "positive_rate": cfg.model.positive_rate,
                     "weights": "1 / rate of the row's class", "seed": cfg.seed,
                     "calibration_fold": "every row kept, weight 1"},
        "reference_values": reference,
        "standard_detection": COVERAGE_FEATURE in features,
        # What the model saw, so nightly drift checks compare against it without
        # rebuilding the training window.
        KEY: feature_distribution(cube, months, inputs["country_id"].values,
                                  bins=cfg.checks.drift_bins),
    }
    if outcomes is not None:
        meta["outcomes"] = {**outcomes.summary(), "weight_per_cell": outcome_weight,
                            "rows": "one per visited cell at the forecast month, coverage "
                                    "at the reference, in the fit fold"}
        if prior_sd is not None:
            b, sd, a = fit_area_offsets(model, cube, features, reference, outcomes,
                                        exposure_of(inputs, target),
                                        inputs.sizes["admin1"], prior_sd)
            meta["outcomes"]["area_offsets"] = offsets_record(
                b, sd, a, [str(c) for c in inputs["admin1"].values], outcomes, prior_sd)
    save_model(model, folder, meta)
    return load_model(folder, features=features, threads=cfg.model.threads), True


def outcome_partners(cfg: RunConfig) -> tuple[str, ...]:
    """The partners whose outcomes train their own models (`[model] outcomes_partner`)."""
    p = cfg.model.outcomes_partner
    return () if p is None else (p,) if isinstance(p, str) else tuple(p)


def check_outcome_partners(cfg: RunConfig) -> PartnersConfig:
    """The partners file of a config with outcome partners, checked: each outcome partner
    is in it, and no other partner covers a country of an outcome partner for a target
    both cover (its scores would come from the outcome partner's model). ModelError with
    one line otherwise."""
    owners = outcome_partners(cfg)
    if not cfg.alerts.partners:
        raise ModelError("[model] outcomes_partner: outcome labels are per partner, but the "
                         "config names no partners file ([alerts] partners)")
    partners = load_partners(cfg.alerts.partners)
    known = {p.id: p for p in partners.partner}
    for owner in owners:
        if owner not in known:
            raise ModelError(f"[model] outcomes_partner: unknown partner {owner!r} in "
                             f"{cfg.alerts.partners}")
        mine = known[owner]
        for other in partners.partner:
            if other.id == owner:
                continue
            shared = sorted({(c, t) for c in mine.countries if c in other.countries
                             for t in mine.targets if t in other.targets})
            if shared:
                where = ", ".join(f"{c} ({t})" for c, t in shared)
                raise ModelError(f"[model] outcomes_partner = {owner!r}: partner "
                                 f"{other.id!r} in {cfg.alerts.partners} also covers {where}; "
                                 f"a partner's own model needs countries no other partner "
                                 f"sees")
    return partners


def partner_targets(cfg: RunConfig, partners: PartnersConfig, owner: str) -> list[str]:
    """The config's targets `owner` covers (its models are trained for these only)."""
    return [t for t in cfg.targets if t in partners.get(owner).targets]


def ensure_partner_models(cfg: RunConfig, inputs: xr.Dataset, cube: xr.Dataset, *,
                          retrain: bool = False, train: bool = True,
                          time_label: Callable[[int], str] | None = None
                          ) -> dict[str, dict[str, tuple[RegisteredModel, bool]]]:
    """{partner: {target: (its own model, fitted now)}} for every outcome partner of `cfg`
    (`ensure_model` with the partner's outcomes, weight and offsets' prior); nothing
    without outcome partners."""
    owners = outcome_partners(cfg)
    if not owners:
        return {}
    partners = check_outcome_partners(cfg)
    out: dict[str, dict[str, tuple[RegisteredModel, bool]]] = {}
    for owner in owners:
        out[owner] = {}
        for target in partner_targets(cfg, partners, owner):
            outcomes = partner_outcomes(cfg, inputs, owner, target, time_label)
            out[owner][target] = ensure_model(
                cfg, inputs, cube, target, retrain=retrain, train=train,
                time_label=time_label or str, outcomes=outcomes,
                outcome_weight=cfg.model.outcome_weight,
                prior_sd=cfg.model.outcome_prior_sd)
    return out


def partner_models_registered(cfg: RunConfig, inputs: xr.Dataset,
                              features: tuple[str, ...],
                              time_label: Callable[[int], str] | None = None) -> bool:
    """Whether every outcome partner's model of `cfg` is registered for the outcomes in
    the store now (true without outcome partners)."""
    owners = outcome_partners(cfg)
    if not owners:
        return True
    partners = check_outcome_partners(cfg)
    for owner in owners:
        for target in partner_targets(cfg, partners, owner):
            outcomes = partner_outcomes(cfg, inputs, owner, target, time_label)
            mid = model_id(cfg, target, features, outcomes, cfg.model.outcome_weight,
                           cfg.model.outcome_prior_sd)
            if not model_dir(cfg.model.registry, target, mid).exists():
                return False
    return True


def partner_outcomes(cfg: RunConfig, inputs: xr.Dataset, partner: str, target: str,
                     time_label: Callable[[int], str] | None = None) -> OutcomeSet:
    """The visit outcomes of `partner` about `target` from the config's alert store, through
    the partner gate (`riskmodel.alerts.feedback.labels`: only its own reports, only about
    alerts it covers), as an `OutcomeSet` on this world's axes (months named by
    `time_label`, else YYYY-MM of the time coordinate)."""
    if not cfg.alerts.partners:
        raise ModelError("outcome labels are per partner: the config names no partners "
                         "file ([alerts] partners)")
    partners = load_partners(cfg.alerts.partners)
    if partner not in {p.id for p in partners.partner}:
        raise ModelError(f"unknown partner {partner!r} in {cfg.alerts.partners}")
    if not Path(cfg.alerts.store).exists():
        return OutcomeSet(partner, ())   # no store yet: nothing reported (none is created)
    with AlertStore(cfg.alerts.store, readonly=True) as store:
        rows = feedback_labels(store, partners, partner=partner)
    labels = ([time_label(i) for i in range(inputs.sizes["time"])] if time_label else
              [str(t)[:7] for t in inputs["time"].values.astype("datetime64[M]")])
    return from_feedback(rows, labels,
                         [str(a) for a in inputs["admin1"].values],
                         inputs["admin1_id"].values, partner, target)
