"""TOML configuration: loading, validation with one-line errors, and the config hash.

Every config file is parsed with `tomllib` and validated by a pydantic model that forbids
unknown keys. A failure raises `ConfigError` with one line naming the file, the key path
(`world.n_countries`) and what was expected. `load_toml_model` is the one way to load any
TOML file of the project (run configs, alert rules, partners).
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, field_validator,
                      model_serializer, model_validator)
from pydantic_core import PydanticCustomError

from riskmodel.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
# Error type of a key that no longer belongs in its section (`moved_key`): the message says
# where its setting lives now, where a bare "unknown key" would leave the user guessing.
MOVED_KEY = "moved_key"


class Strict(BaseModel):
    """Base for config sections: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def format_validation_error(path: Path | str, err: ValidationError) -> str:
    """One line naming the file, the first failing key path and what was expected."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "<top level>"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    if first["type"] == MOVED_KEY:  # raised on the section: name the key itself
        loc = ".".join(str(p) for p in (*first["loc"], first["ctx"]["key"]))
    got = first.get("input")
    shown = ("" if first["type"] in ("extra_forbidden", "missing", MOVED_KEY)
             else f" (got {got!r})")
    more = len(err.errors()) - 1
    tail = f"; and {more} more problem(s)" if more else ""
    return f"{path}: {loc}: {msg}{shown}{tail}"


def read_toml(path: Path | str) -> dict[str, Any]:
    """Parse a TOML file, naming the file (and line) on a syntax error."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None


def load_toml_model(path: Path | str, model: type[M]) -> M:
    """Load `path` and validate it as `model`; raise `ConfigError` with one clear line."""
    data = read_toml(path)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(path, err)) from None


class WorldConfig(Strict):
    """Size and structure of the seeded synthetic world (see riskmodel.world)."""

    ny: int = Field(120, ge=8, le=4000, description="grid rows (latitude)")
    nx: int = Field(160, ge=8, le=8000, description="grid columns (longitude)")
    resolution: float = Field(0.25, gt=0, le=5, description="cell size in degrees")
    lat0: float = Field(-5.0, ge=-90, le=90, description="latitude of the southern cell edge")
    lon0: float = Field(10.0, ge=-180, le=180, description="longitude of the western cell edge")
    n_countries: int = Field(12, ge=2, le=26 * 26)
    n_admin1: int = Field(100, ge=2, le=5000)
    start_year: int = Field(2005, ge=1900, le=2100)
    n_months: int = Field(240, ge=36, le=1200)
    land_fraction: float = Field(0.75, gt=0.1, le=1.0)
    scenario: Literal["well-specified", "hidden-detection", "proxies", "drift",
                      "nonlinear"] = Field(
        "well-specified", description="how the truth departs from the observed drivers "
                                      "(riskmodel.world.scenarios)")

    @model_serializer(mode="wrap")
    def _scenario_only_when_set(self, handler: Any) -> dict[str, Any]:
        # The default scenario is left out of dumps, so the config hash and model ids of
        # a well-specified world do not depend on the scenario switch existing.
        data = handler(self)
        if data.get("scenario") == "well-specified":
            data.pop("scenario")
        return data

    @model_validator(mode="after")
    def _admin_vs_countries(self) -> WorldConfig:
        if self.n_admin1 < self.n_countries:
            raise ValueError(f"n_admin1 ({self.n_admin1}) must be >= n_countries "
                             f"({self.n_countries}): every country needs an admin-1 unit")
        return self


class ModelConfig(Strict):
    """LightGBM risk models: horizon, size, folds, ensemble for intervals."""

    horizon: int = Field(3, ge=1, le=24, description="label horizon H in months")
    n_estimators: int = Field(150, ge=1, le=5000)
    num_leaves: int = Field(31, ge=2, le=1024)
    learning_rate: float = Field(0.1, gt=0, le=1)
    min_child_samples: int = Field(50, ge=1)
    negative_rate: float = Field(0.05, gt=0, le=1,
                                 description="share of negative rows kept (weights 1/rate)")
    positive_rate: float = Field(0.3, gt=0, le=1,
                                 description="share of positive rows kept (weights 1/rate)")
    calibration_months: int = Field(24, ge=3, le=240)
    ensemble: int = Field(4, ge=1, le=50, description="bootstrap members for the interval")
    interval: float = Field(0.8, gt=0, lt=1, description="nominal coverage of risk_lo..risk_hi")
    linear_base: bool = Field(False, description="log-odds = a logistic regression on every "
                              "training row plus trees boosted from a fit-fold logistic "
                              "(docs/backtest.md)")
    calibration: Literal["isotonic", "platt"] = Field(
        "isotonic", description="map from the members' mean log-odds to a probability")
    reference_coverage: float | None = Field(
        None, ge=0, le=1,
        description="inspection coverage set for every area at scoring (None: training median)")
    threads: int = Field(2, ge=1, le=256)
    registry: str = Field("models", description="model registry folder (relative to cwd)")
    outcomes_partner: str | tuple[str, ...] | None = Field(
        None,
        description="train a model of its own for this partner (or each of these partners) "
                    "on its visit outcomes from the alert store too, which scores only the "
                    "countries it covers; new outcomes make a new model id, so the nightly "
                    "run retrains when they arrive; docs/simulate.md")
    outcome_weight: float = Field(1.0, gt=0, le=1000,
                                  description="weight of each visited cell's outcome row")
    outcome_prior_sd: float = Field(1.0, gt=0, le=10,
                                    description="prior sd (log-odds) of an area's offset "
                                                "fitted from visit outcomes")

    @field_validator("outcomes_partner")
    @classmethod
    def _partner_ids(cls, v: str | tuple[str, ...] | None) -> str | tuple[str, ...] | None:
        ids = [v] if isinstance(v, str) else list(v or ())
        for pid in ids:
            if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", pid):
                raise ValueError(f"partner id {pid!r}: expected lower-case letters, digits, "
                                 f"_ and - (a partner id of the partners file)")
        if v is not None and not isinstance(v, str):
            if not ids:
                raise ValueError("an empty list: name at least one partner, or leave it out")
            if len(set(ids)) != len(ids):
                raise ValueError("a partner is named twice")
        return v

    @model_serializer(mode="wrap")
    def _outcomes_only_when_set(self, handler: Any) -> dict[str, Any]:
        # Left out of dumps at their defaults, so config hashes of configs without
        # outcomes do not depend on the switch existing.
        data = handler(self)
        for key, default in (("outcomes_partner", None), ("outcome_weight", 1.0),
                             ("outcome_prior_sd", 1.0)):
            if data.get(key) == default:
                data.pop(key, None)
        return data


class AlertsConfig(Strict):
    """Where alert rules, partners and the alert store live.

    Every alert level (the threshold with its hysteresis, percentile, rise) is set in the
    rules file that `rules` names (`configs/alerts.toml`), the one place for them; without
    a file the rules' defaults apply (`riskmodel.alerts.rules`).
    """

    enabled: bool = True
    rules: str | None = Field(None, description="alert rules file (None: default rules)")
    partners: str | None = None
    store: str = "runs/alerts.sqlite"

    @model_validator(mode="before")
    @classmethod
    def _threshold_moved(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "threshold" in data:
            raise PydanticCustomError(
                MOVED_KEY, "no longer read here: the alert threshold is `enter` (and "
                "`leave`) under [threshold] in the rules file that [alerts] rules names "
                "(as in configs/alerts.toml); remove this key", {"key": "threshold"})
        return data


class ChecksConfig(Strict):
    """Input checks before scoring: freshness, coverage and drift thresholds.

    A failing check stops the run before anything is published; `riskmodel run
    --allow-stale/--allow-missing/--allow-drift` override one kind explicitly (recorded in
    the manifest). Schema problems (dims, dtypes, units, codes) cannot be overridden.
    """

    enabled: bool = True
    max_age_months: int = Field(1, ge=0, le=120, description="newest month of each input "
                                "may be at most this many months before the as-of month")
    max_age_by_variable: dict[str, int] = Field(
        default_factory=dict, description="per-input override of max_age_months")
    max_missing_share: float = Field(0.05, ge=0, le=1, description="share of land cells "
                                     "(or regions) an input or feature may miss at as-of")
    drift_psi: float = Field(0.25, gt=0, description="population stability index of a "
                             "feature vs its training distribution that fails the run, "
                             "at least")
    drift_factor: float = Field(2.0, ge=1, description="fail only beyond this multiple of "
                                "the largest PSI of a single training month")
    drift_warn_psi: float = Field(0.1, gt=0, description="PSI that warns (if also above "
                                  "95% of training months)")
    drift_bins: int = Field(10, ge=2, le=100, description="quantile bins of the reference")


class VariableMap(Strict):
    """How one canonical input variable is read from a source column or grid variable.

    `column` names the CSV column (long layout) or the grid variable; in a wide CSV (one
    column per year) it is left out. Values are multiplied by `scale` (e.g. 0.01 for
    percent -> share); text values are looked up in `categories` (a value matches the
    longest key it starts with, so qualified labels such as "Minimal Advancement - ..."
    map with their base label; nan maps a category to a gap).
    """

    column: str | None = None
    units: str = Field(description="units of the canonical variable after scaling")
    source_units: str | None = Field(None, description="grids only: units in the file, "
                                                      "checked (default: `units`)")
    scale: float = 1.0
    categories: dict[str, float] | None = None
    climatology: bool = Field(False, description="grids only: a 12-month climatology, "
                                                 "averaged to one static layer")
    reduce: Literal["mean", "sum"] = Field(
        "mean", description="grids only, reduced to sub-national regions: the area-weighted "
                            "mean (rates, temperatures) or the sum (counts such as persons)")


class CsvSource(Strict):
    """A CSV table keyed by ISO 3166-1 alpha-3 country (or admin-1 `ISO-xx`) codes, or by
    sub-national region codes (`key = "region"`, e.g. GDL's `AFGr101`) with a column naming
    each region's country."""

    reader: Literal["csv"]
    path: str
    layout: Literal["long", "wide"] = Field(
        "long", description="long: one row per (code, year), a column per variable; "
                            "wide: one row per code, a column per year, one variable")
    key: Literal["country", "admin1", "region"] = "country"
    code_column: str = "iso3"
    year_column: str = "year"
    country_column: str | None = Field(
        None, description="key = region only: the column with each region's ISO 3166-1 "
                          "alpha-3 country code")
    level_column: str | None = Field(
        None, description="key = region only: a column marking national rows (the country "
                          "as a whole) with `national_level`")
    national_level: str = Field("national", description="the level_column value of a "
                                                        "national row")
    skip_codes: tuple[str, ...] = Field((), description="codes dropped with a notice")
    lag_years: int = Field(0, ge=0, le=10, description="years after its year that a value "
                                                       "is published (first used)")
    carry_forward: str | None = Field(
        None, pattern=r"^[a-z][a-z0-9_]*$",
        description="hold each variable's values of its last year with data to the end of "
                    "the time axis, and record the years of carrying as the canonical "
                    "variable of this name (e.g. gdl_age_years)")
    absent_is_zero: bool = Field(
        False, description="an event table: a code-year without a row, within the years "
                           "the file covers, is 0 (no event), not a gap")
    variables: dict[str, VariableMap]

    @model_validator(mode="after")
    def _layout_columns(self) -> CsvSource:
        if self.layout == "wide" and (len(self.variables) != 1
                                      or next(iter(self.variables.values())).column):
            raise ValueError("a wide table holds one variable, without `column`")
        if self.layout == "long" and any(v.column is None for v in self.variables.values()):
            raise ValueError("every variable of a long table needs its `column`")
        if self.key == "region" and (self.country_column is None or self.layout != "long"):
            raise ValueError("a region table (key = \"region\") is long and needs "
                             "`country_column`")
        if self.key != "region" and (self.country_column or self.level_column):
            raise ValueError("country_column and level_column are for key = \"region\"")
        return self


class GridSource(Strict):
    """A NetCDF or Zarr grid on regular lat/lon with CF metadata."""

    reader: Literal["netcdf", "zarr"]
    path: str
    decode_times: bool = Field(True, description="False for climatologies with year-0 times")
    variables: dict[str, VariableMap]

    @model_validator(mode="after")
    def _columns(self) -> GridSource:
        if any(v.column is None for v in self.variables.values()):
            raise ValueError("every grid variable needs its `column` (the variable's name)")
        return self


class BoundariesSource(Strict):
    """GeoJSON region boundaries (a FeatureCollection of (Multi)Polygons).

    Keyed by ISO 3166-1 alpha-3 codes (countries), or, with `country_property`, by
    sub-national region codes whose country that property gives (`riskmodel.regions`).
    """

    reader: Literal["geojson"]
    path: str
    code_property: str = "ISO_A3_EH"
    skip_codes: tuple[str, ...] = Field(("-99",), description="codes dropped with a notice")
    country_property: str | None = Field(
        None, description="sub-national regions: the property with each region's ISO "
                          "3166-1 alpha-3 country code")
    name_property: str | None = Field(None, description="the property with a region's name")
    repair: bool = Field(
        False, description="repair polygons that are not OGC-valid (self-crossing rings, "
                           "holes outside their shell) with shapely.make_valid, with a "
                           "notice, instead of refusing the file")


class GridSpec(Strict):
    """The target grid of grid mode: cell centres from the south-west edge."""

    lat0: float = Field(ge=-90, le=90)
    lon0: float = Field(ge=-180, le=180)
    resolution: float = Field(gt=0, le=10)
    ny: int = Field(ge=1, le=4000)
    nx: int = Field(ge=1, le=8000)


class PopulationSpec(Strict):
    """How the region cube's `population` (persons per unit and year, the weight of
    population-weighted roll-ups) is assembled from canonical inputs (riskmodel.regions)."""

    region: str = Field(description="canonical variable of a region table in persons "
                                    "(e.g. GDL's population)")
    country: str = Field(description="canonical variable of a country table in persons; "
                                     "its growth carries `region` past its last year")
    grid: str | None = Field(None, description="canonical variable of a grid reduced with "
                                               "reduce = \"sum\" (persons), for regions "
                                               "without `region` values")
    grid_year: int | None = Field(None, ge=1900, le=2100,
                                  description="the year the grid counts people in")

    @model_validator(mode="after")
    def _grid_year(self) -> PopulationSpec:
        if (self.grid is None) != (self.grid_year is None):
            raise ValueError("grid and grid_year go together")
        return self


class SourcesConfig(Strict):
    """Real inputs instead of the synthetic world: each named input with its reader and
    variable mapping (see riskmodel.sources). Paths starting with `dataset:` are inside
    the installed riskmodel/datasets folder; other relative paths are relative to the cwd.

    `frequency` is the time step of the canonical inputs and features: `monthly` (yearly
    values laid on months as steps) or `yearly` (one step per calendar year).
    """

    mode: Literal["region", "grid"] = "region"
    frequency: Literal["monthly", "yearly"] = "monthly"
    start_year: int = Field(ge=1900, le=2100)
    end_year: int | None = Field(None, ge=1900, le=2100,
                                 description="last year (None: the latest year any table "
                                             "reaches, its last year plus lag_years)")
    history_start: int | None = Field(
        None, ge=1800, le=2100,
        description="first year read for features that look back (years since an event); "
                    "the cube itself starts at start_year")
    boundaries: str | None = Field(None, description="name of the geojson input")
    grid: GridSpec | None = None
    population: PopulationSpec | None = None
    exclude_features: tuple[str, ...] = ()
    inputs: dict[str, Annotated[CsvSource | GridSource | BoundariesSource,
                                Field(discriminator="reader")]]

    @model_validator(mode="after")
    def _consistent(self) -> SourcesConfig:
        if self.end_year is not None and self.end_year < self.start_year:
            raise ValueError(f"end_year ({self.end_year}) is before start_year "
                             f"({self.start_year})")
        if self.history_start is not None and self.history_start > self.start_year:
            raise ValueError(f"history_start ({self.history_start}) is after start_year "
                             f"({self.start_year})")
        if self.frequency == "yearly" and self.mode == "grid":
            raise ValueError("frequency = \"yearly\" is for region mode")
        if self.boundaries is not None and not isinstance(
                self.inputs.get(self.boundaries), BoundariesSource):
            raise ValueError(f"boundaries = {self.boundaries!r} is not a geojson input")
        if self.mode == "grid" and (self.grid is None or self.boundaries is None):
            raise ValueError("grid mode needs [sources.grid] and `boundaries`")
        seen: dict[str, str] = {}
        for name, src in self.inputs.items():
            age = [src.carry_forward] if isinstance(src, CsvSource) and src.carry_forward else []
            for var in [*getattr(src, "variables", {}), *age]:
                if var in seen:
                    raise ValueError(f"variable {var!r} comes from both inputs "
                                     f"{seen[var]!r} and {name!r}")
                seen[var] = name
        return self


class ScaleConfig(Strict):
    """Scale-out (riskmodel.scale): compiled inference, stored inputs, spatial blocks.

    A separate section rather than keys of [model], because these choices change how fast
    and where a score is computed, never its values: they must not enter the model id.
    """

    inference: Literal["native", "compiled"] = Field(
        "native", description="native: LightGBM predict; compiled: tl2cgen C libraries "
                              "(same raw scores, falls back to native without a compiler)")
    compiled_cache: str = Field(".cache/compiled-models",
                                description="folder of compiled model libraries")
    inputs: str | None = Field(None, description="Zarr store of the canonical inputs, "
                                                 "chunked over space (None: in memory)")
    block: int = Field(256, ge=8, le=8000, description="edge of a spatial scoring block, "
                                                       "cells (memory per block)")
    models_from: str | None = Field(
        None, description="run config whose registered models score this one (same "
                          "feature list, checked); for worlds too short to train their own, "
                          "such as the 36-month global one. Such a run never trains")


class DriversConfig(Strict):
    """Which cells get TreeSHAP drivers (riskmodel.scoring.DriverRule; docs/scale.md).

    Contributions cost about three times a risk score per row even when computed once per
    distinct path (riskmodel.models.contrib), so a night computes them only for the cells
    that can alert and for a sample of cells per admin-1 unit (admin-1 drivers).
    """

    min_risk: float | None = Field(
        None, ge=0, le=1, description="cells with risk at or above this get drivers (None: "
                                      "the lowest risk at which an enabled alert rule can "
                                      "hold an area; 0: every cell)")
    admin1_sample: int | None = Field(
        32, ge=1, description="cells sampled per admin-1 unit for its drivers (None: all)")


class ReportConfig(Strict):
    """`[report]` of a real-world (region) run config: how much its report shows."""

    top_regions: int = Field(15, ge=1, le=200, strict=True,
                             description="rows per target in the highest-risk table")
    country_maps: int = Field(6, ge=0, le=40, strict=True,
                              description="countries mapped (those with alerts first)")


class RunConfig(Strict):
    """A whole run: world (or sources), features, models, alerts and output folder."""

    name: str = Field("demo", pattern=r"^[A-Za-z0-9_.-]+$")
    seed: int = Field(20260, ge=0, le=2**32 - 1)
    out: str = Field("runs", description="parent folder of run folders")
    as_of: str | None = Field(None, pattern=r"^\d{4}(-(0[1-9]|1[0-2]))?$",
                              description="YYYY-MM to score (YYYY for yearly region "
                                          "configs); None: the latest month or year")
    targets: tuple[Literal["fl", "cl"], ...] = ("fl", "cl")
    world: WorldConfig = WorldConfig()
    model: ModelConfig = ModelConfig()
    alerts: AlertsConfig = AlertsConfig()
    checks: ChecksConfig = ChecksConfig()
    sources: SourcesConfig | None = None
    scale: ScaleConfig = ScaleConfig()
    drivers: DriversConfig = DriversConfig()
    report: ReportConfig = ReportConfig()

    @field_validator("name")
    @classmethod
    def _name_is_one_folder(cls, value: str) -> str:
        # The name is a folder under `out` (run folders, history, kept refit rows): "." or
        # ".." would put them in `out` itself or above it; all-dot names are refused alike.
        if set(value) == {"."}:
            raise ValueError(f"name {value!r} is dots only, not a folder of its own under "
                             f"`out`; use letters, digits, '_', '-' or '.'")
        return value

    @model_serializer(mode="wrap")
    def _report_only_when_set(self, handler: Any) -> dict[str, Any]:
        # A default [report] is left out of dumps, so the hash of a config without one
        # (every synthetic config) does not depend on the section existing.
        data = handler(self)
        if data.get("report") == ReportConfig().model_dump(mode="json"):
            data.pop("report")
        return data

    @model_validator(mode="after")
    def _linear_base_scores_natively(self) -> RunConfig:
        # Compiled members (riskmodel.scale.inference) score the trees alone.
        if self.model.linear_base and self.scale.inference == "compiled":
            raise ValueError("model.linear_base: compiled inference scores the trees only, "
                             "not the linear term; use scale.inference = \"native\"")
        return self


def load_config(path: Path | str) -> RunConfig:
    """Load and validate a run config; relative paths inside it stay relative to the cwd."""
    return load_toml_model(path, RunConfig)


def is_region_config(cfg: RunConfig) -> bool:
    """True when `cfg` scores sub-national regions once a year (yearly `[sources]`, e.g.
    configs/real.toml): its night is `riskmodel.region_night`, its cubes
    `riskmodel.regions.build_region_cube`."""
    return cfg.sources is not None and cfg.sources.frequency == "yearly"


def config_hash(model: BaseModel) -> str:
    """sha256 (hex, first 16) of the resolved config as canonical JSON."""
    text = json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def toml_text(data: Mapping[str, Any], prefix: str = "") -> str:
    """`data` (tables, strings, numbers, booleans, lists) as TOML text that `read_toml`
    parses back to the same values; strings are written as JSON strings, valid in TOML."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    def key(k: str) -> str:
        # Bare keys are letters, digits, "_" and "-"; any other (a category label with
        # spaces, "No Assessment") is quoted.
        return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)

    lines = [f"{key(k)} = {value(v)}" for k, v in data.items() if not isinstance(v, Mapping)]
    for k, v in data.items():
        if isinstance(v, Mapping):
            lines += [f"\n[{prefix}{key(k)}]", toml_text(v, f"{prefix}{key(k)}.")]
    return "\n".join(lines) + "\n"


def redirected_config(config: Path | str, folder: Path | str,
                      overrides: Mapping[str, Any] | None = None) -> Path:
    """Write a copy of run config `config` into `folder` whose run folders, model registry
    and alert store all lie inside `folder` (rule and partner files made absolute), with
    `overrides` merged per section; return its path. For trial runs, tests and benchmarks
    that must not touch the working tree."""
    folder = Path(folder)
    data = read_toml(config)
    data["out"] = str(folder / "runs")
    data.setdefault("model", {})["registry"] = str(folder / "models")
    alerts = data.setdefault("alerts", {})
    alerts["store"] = str(folder / "alerts.sqlite")
    for key in ("rules", "partners"):  # cwd-relative, like every path of a run config
        if key in alerts:
            alerts[key] = str(Path(alerts[key]).resolve())
    for section, values in (overrides or {}).items():
        if isinstance(values, Mapping):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    path = folder / Path(config).name
    path.write_text(toml_text(data), encoding="utf-8")
    return path

