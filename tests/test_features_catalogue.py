"""The feature catalogue: every entry documented, its kernels named from the registry, the
vulnerable groups covered, each feature reading only the inputs it declares and no farther
than its declared halo, the docs and the CLI listing in sync."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import features
from features.catalogue import CATALOGUE, DOMAINS, feature, halo_cells
from features.docs import MARKER, catalogue_markdown
from kernels.registry import BY_NAME
from riskmodel.cli import main
from riskmodel.config import load_config
from riskmodel.sources import load_inputs
from riskmodel.world import make_world

ROOT = Path(__file__).resolve().parents[1]
# Region layers every feature may read besides its declared inputs: the cube's geometry.
STRUCTURE = ("country_id", "admin1_id", "admin1_country")

# The populations the field names as most at risk, and the features that see them.
VULNERABLE = {
    "young children (5-11)": ["young_child_share"],
    "children in crisis areas": ["children_in_crisis"],
    "migrants": ["migrant_share", "migrant_change_12"],
    "refugees": ["refugee_share", "refugee_change_12"],
    "displaced people": ["displaced_share", "displaced_change_12", "displaced_abroad_share",
                         "displaced_abroad_change_12"],
    "seasonal workers": ["seasonal_agri_work", "women_agri_work"],
    "women and girls": ["women_vulnerable_employment", "women_family_work",
                        "women_agri_work"],
}


@pytest.fixture(scope="module")
def world() -> xr.Dataset:
    cfg = load_config(ROOT / "configs" / "tiny.toml")
    return make_world(cfg.world, cfg.seed)


@pytest.fixture(scope="module")
def real_inputs() -> xr.Dataset:
    return load_inputs(load_config(ROOT / "configs" / "real-countries.toml"))


def test_every_feature_is_documented() -> None:
    assert len(CATALOGUE) >= 30
    for name, f in CATALOGUE.items():
        assert f.name == name
        assert f.domain in DOMAINS, name
        assert f.units.strip(), name
        assert f.meaning.strip() and "\n" not in f.meaning, name
        assert f.inputs and all(isinstance(i, str) and i for i in f.inputs), name
        assert f.kernel == ("+".join(f.kernels) or "none"), name
        assert f.compute.__name__ != "<lambda>", name
        json.dumps(f.describe())  # the listing must be plain JSON
    counts = {d: sum(f.domain == d for f in CATALOGUE.values()) for d in DOMAINS}
    assert all(n >= 5 for n in counts.values()), counts


def test_named_features_of_the_issue_exist() -> None:
    wanted = ["temp_anomaly", "precip_anomaly", "spi_3", "spi_12", "heat_months_12",
              "drought_duration", "drought_spatial_lag", "gdp_growth",
              "commodity_shock_x_crop", "poverty_rate", "poverty_change_12",
              "log_population_density", "child_share", "young_child_share", "migrant_share",
              "refugee_share", "displaced_share", "seasonal_agri_work",
              "observations_fl_decayed", "cas_cl_decayed", "ta_request_fl_decayed",
              "inspection_coverage", "tip_watchlist", "programme_fl"]
    wanted += [f"{p}_{c}" for c in ("C029", "C105", "C138", "C182", "P029")
               for p in ("ratified", "years_since")]
    assert [w for w in wanted if w not in CATALOGUE] == []


def test_feature_kernels_are_registry_kernels() -> None:
    used = set()
    for name, f in CATALOGUE.items():
        assert isinstance(f.kernels, tuple), name
        assert [k for k in f.kernels if k not in BY_NAME] == [], name
        used.update(f.kernels)
    assert {"spi", "spatial_lag", "broadcast_regions", "event_decay"} <= used


def _register(**kw: object) -> None:
    args = {"domain": "climatic", "inputs": ("temperature",), "kernels": ("move_mean",),
            "units": "1", "meaning": "test entry", **kw}
    feature("not_registered", **args)(lambda inputs: inputs["temperature"])  # type: ignore


@pytest.mark.parametrize("bad", [{"kernels": ("move_maen",)}, {"kernels": ("move_mean+lag",)},
                                 {"halo": -1}, {"halo": 1.5}, {"halo": True},
                                 {"halo": lambda p: p["radius"], "radius": 2.5}])
def test_feature_with_unknown_kernel_or_bad_halo_is_refused(bad: dict) -> None:
    with pytest.raises(ValueError, match="not_registered"):
        _register(**bad)
    assert "not_registered" not in CATALOGUE


def test_halo_cells_is_the_widest_declared_halo() -> None:
    assert CATALOGUE["drought_spatial_lag"].halo == 6  # radius=6: spatial_lag's reach
    assert halo_cells() == max(f.halo for f in CATALOGUE.values()) == 6
    assert halo_cells(["spi_3", "drought_spatial_lag"]) == 6
    assert halo_cells(["spi_3", "gdp_growth"]) == 0
    assert halo_cells([]) == 0
    assert [n for n, f in CATALOGUE.items() if f.halo] == ["drought_spatial_lag"]


def test_declared_halo_makes_a_block_exact(world: xr.Dataset) -> None:
    """Every feature built on a block read with its declared halo as border equals the
    whole grid's on that block; one cell less of border changes a feature with a halo (so
    a halo declared too small, or missing, is caught)."""
    names, _ = features.plan_features(world)
    full = features.build_cube(world, names)
    y0, y1, x0, x1 = 8, 15, 10, 19  # inside a 24 x 32 grid by more than the halo
    assert min(y0, x0, world.sizes["lat"] - y1, world.sizes["lon"] - x1) > halo_cells(names)

    def on_block(name: str, border: int) -> np.ndarray:
        sub = world.isel(lat=slice(y0 - border, y1 + border),
                         lon=slice(x0 - border, x1 + border))
        out = features.build_feature(sub, name).values
        return out[:, border:border + y1 - y0, border:border + x1 - x0]

    for name in names:
        halo = CATALOGUE[name].halo
        want = full[name].values[:, y0:y1, x0:x1]
        np.testing.assert_array_equal(on_block(name, halo), want, err_msg=name)
        if halo:
            assert not np.array_equal(on_block(name, halo - 1), want, equal_nan=True), name


@pytest.mark.parametrize("group", sorted(VULNERABLE))
def test_each_vulnerable_group_has_a_feature(group: str) -> None:
    names = VULNERABLE[group]
    assert all(n in CATALOGUE for n in names), names
    assert all(CATALOGUE[n].domain == "demographic" for n in names)


def _only_inputs(inputs: xr.Dataset, name: str) -> xr.Dataset:
    keep = [v for v in (*CATALOGUE[name].inputs, *STRUCTURE) if v in inputs]
    # The time axis is structure too: static features are repeated along it.
    return inputs[keep].assign_coords(time=inputs["time"])


def _assert_reads_only_declared(inputs: xr.Dataset) -> int:
    names, _ = features.plan_features(inputs)
    full = features.build_cube(inputs, names)
    for name in names:
        alone = features.build_feature(_only_inputs(inputs, name), name)
        np.testing.assert_array_equal(alone.values, full[name].values, err_msg=name)
    return len(names)


def test_grid_features_read_only_their_declared_inputs(world: xr.Dataset) -> None:
    assert _assert_reads_only_declared(world) >= 40


def test_region_features_read_only_their_declared_inputs(real_inputs: xr.Dataset) -> None:
    assert _assert_reads_only_declared(real_inputs) >= 25


def test_a_feature_reading_an_undeclared_input_is_caught(world: xr.Dataset) -> None:
    # The check above would fail if a feature peeked at another variable.
    with pytest.raises(KeyError):
        CATALOGUE["commodity_shock_x_crop"].compute(
            _only_inputs(world, "gdp_growth"), months=12)


def test_docs_page_is_the_generated_catalogue() -> None:
    page = (ROOT / "docs" / "features.md").read_text(encoding="utf-8")
    assert page.count(MARKER) == 1
    generated = page.split(MARKER, 1)[1].lstrip("\n")
    assert generated == catalogue_markdown(), (
        "regenerate the part after the marker: riskmodel features list --markdown")
    for name in CATALOGUE:
        assert f"`{name}`" in generated


def test_cli_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["features", "list", "--json"])
    assert exit_.value.code == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in listed] == list(CATALOGUE)
    assert all({"domain", "inputs", "units", "meaning", "kernel", "halo"} <= set(e)
               for e in listed)
    with pytest.raises(SystemExit):
        main(["features", "list"])
    assert len(capsys.readouterr().out.splitlines()) == len(CATALOGUE)
