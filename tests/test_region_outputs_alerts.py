"""Alerts for real places: yearly region scores through the one alert night (rules, store,
CAP 1.2 with GDL names and polygons, partners scoped to countries or GDL regions)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from region_fixtures import CODES, polygons, region_risk  # noqa: E402
from test_alerts_fakes import make_risk  # noqa: E402

from riskmodel.alerts.cap import read_message, validate_cap  # noqa: E402
from riskmodel.alerts.partners import load_partners  # noqa: E402
from riskmodel.alerts.publish import publish_alerts  # noqa: E402
from riskmodel.alerts.regions import RegionSource, simplify_geometry  # noqa: E402
from riskmodel.alerts.rules import load_rules  # noqa: E402
from riskmodel.alerts.store import AlertStore  # noqa: E402
from riskmodel.config import AlertsConfig  # noqa: E402
from riskmodel.datasets import dataset_path  # noqa: E402
from riskmodel.errors import ConfigError, InputError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SENT = datetime(2026, 3, 4, 5, 0, tzinfo=timezone.utc)
RULES = """
targets = ["cl", "fl"]
[area]
kind = "region"
[threshold]
enter = 0.8
leave = 0.7
[cap]
status = "{status}"
"""


WHOLE = """
[[partner]]
id = "whole"
name = "whole countries"
countries = ["GHA", "TGO", "RUS"]
channels = [{{ kind = "directory", path = "{tmp}/drop/whole" }}]
"""


def cfg_for(tmp: Path, rules: str = RULES.format(status="Exercise"),
            partners: str | None = None) -> AlertsConfig:
    (tmp / "rules.toml").write_text(rules)
    pp = None
    if partners is not None:
        pp = tmp / "partners.toml"
        pp.write_text(partners)
    return AlertsConfig(store=str(tmp / "alerts.sqlite"), rules=str(tmp / "rules.toml"),
                        partners=str(pp) if pp else None)


def publish(tmp: Path, cfg: AlertsConfig, ds: xr.Dataset, name: str, **kw) -> dict:
    return publish_alerts(ds, run_dir=tmp / name, cfg=cfg, run_id=name, sent=SENT,
                          polygons=polygons(), **kw)


def top(ds: xr.Dataset, target: str, year: int, at: float) -> set[str]:
    r = ds["risk"].sel(target=target, year=year).values
    return {c for c, v in zip(CODES, r, strict=True) if np.isfinite(v) and v >= at}


def test_region_alerts_are_valid_cap_with_gdl_names_and_polygons(tmp_path: Path) -> None:
    ds = region_risk()
    s = publish(tmp_path, cfg_for(tmp_path), ds, "r2019")
    expected = top(ds, "cl", 2019, 0.8) | top(ds, "fl", 2019, 0.8)
    assert s["new"] == len(top(ds, "cl", 2019, 0.8)) + len(top(ds, "fl", 2019, 0.8)) > 0
    caps = sorted((tmp_path / "r2019" / "alerts" / "cap").glob("*.xml"))
    assert len(caps) == s["new"]
    seen = set()
    for p in caps:
        xml = p.read_text(encoding="utf-8")
        assert validate_cap(xml) == [], p.name
        msg = read_message(xml)
        assert msg["status"] == "Exercise" and "MODELLED ESTIMATE" in msg["note"]
        info = msg["info"][0]
        area = info["areas"][0]
        gdl = dict(area["geocodes"])["gdlcode"]
        seen.add(gdl)
        i = CODES.index(gdl)
        iso3 = str(ds["iso3"].values[i])
        assert dict(area["geocodes"])["ISO3166-1-alpha-3"] == iso3
        name = {"GHA": "Ghana", "TGO": "Togo", "RUS": "Russian Federation"}[iso3]
        assert area["areaDesc"] == f"{ds['region_name'].values[i]} ({name})"
        assert info["onset"] == "2019-01-01T00:00:00+00:00"
        assert info["expires"] == "2027-03-04T05:00:00+00:00"  # a year after sending
        assert info["certainty"] == "Possible"
        assert "Relative risk score" in info["description"]
        assert "not validated at region level" in info["description"]
        t = info["parameters"]["alert_id"].split("-")[0]
        rate = float(ds[f"{t}_rate"].sel(year=2019).values[i])
        assert info["parameters"]["estimate"].startswith(f"{rate:.4g} ")
        polys = area["polygons"]
        assert polys and all(pg[0] == pg[-1] and len(pg) >= 4 for pg in polys)
        assert sum(len(pg) for pg in polys) <= 500
        lat, lon = polys[0][0]  # CAP order: lat,lon (Ghana and Togo lie at 0-11 N, 2 W-2 E)
        if iso3 in ("GHA", "TGO"):
            assert 4 < lat < 12 and -4 < lon < 2
    assert seen == expected
    fc = json.loads((tmp_path / "r2019" / "alerts.geojson").read_text())
    props = fc["features"][0]["properties"]
    assert fc["as_of"] == "2019" and fc["synthetic"] is False and "MODELLED" in fc["note"]
    assert props["area_kind"] == "region" and props["year"] == 2019
    assert props["rate_units"] in ("% of children aged 5-17", "per 100,000 population")
    # A rerun of the same year changes nothing and renders the same bytes.
    again = publish(tmp_path, cfg_for(tmp_path), ds, "again")
    assert again["rerun_of"] == "r2019"
    for p in caps:
        assert (tmp_path / "again" / "alerts" / "cap" / p.name).read_bytes() == p.read_bytes()


def test_cap_status_actual_only_when_the_rules_say_so(tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path, RULES.format(status="Actual"))
    publish(tmp_path, cfg, region_risk(), "r")
    xml = next((tmp_path / "r" / "alerts" / "cap").glob("*.xml")).read_text()
    assert "<status>Actual</status>" in xml and validate_cap(xml) == []
    with pytest.raises(ConfigError, match="status"):
        load_rules(cfg_for(tmp_path, RULES.format(status="actual")).rules)


def test_yearly_backfill_gives_persistence_and_rise_over_years(tmp_path: Path) -> None:
    ds = region_risk()
    rules = RULES.format(status="Exercise").replace("enter = 0.8", "enter = 0.99") + """
[rise]
enabled = true
months = 2
enter_delta = 0.3
leave_delta = 0.05
min_risk = 0.5
[persistence]
k = 2
n = 2
"""
    cfg = cfg_for(tmp_path, rules)
    for y in (2017, 2018):
        publish(tmp_path, cfg, ds.assign_attrs(as_of=str(y)), f"r{y}", warm_up=False)
    publish(tmp_path, cfg, ds, "r2019", warm_up=False)
    # The rules by hand: rise over the mean of up to two earlier years, or the top 1%.
    r = ds["risk"].sel(target="cl").transpose("region", "year").values
    expected_trig, expected_open = set(), set()
    for i, code in enumerate(CODES):
        trig = []
        for k in range(3):
            base = r[i, max(0, k - 2):k]
            risen = k > 0 and r[i, k] - base.mean() >= 0.3 and r[i, k] >= 0.5
            trig.append(bool(np.isfinite(r[i, k]) and (risen or r[i, k] >= 0.99)))
            if trig[-1]:
                expected_trig.add((str(2017 + k), code))
            if k > 0 and trig[k] and trig[k - 1]:
                expected_open.add(code)
    with AlertStore(cfg.store) as st:
        rows = st.db.execute("SELECT as_of, area_key FROM observations WHERE target='cl' "
                             "AND triggered=1").fetchall()
        opened = {a["area_key"] for a in st.alerts(target="cl")}
    assert {tuple(x) for x in rows} == expected_trig
    # GHAr101 climbs from the bottom over 2017-2019 (the fixture's rise): it triggers.
    assert any(code == "GHAr101" for _, code in expected_trig)
    assert opened == expected_open  # 2 of the last 2 years, nothing more
    assert expected_trig - {(y, c) for y, c in expected_trig if c in expected_open}
    # On a fresh store the rise alone (warm-up) opens it, with the reason in years.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    cfg2 = cfg_for(fresh, rules.replace("k = 2", "k = 1"))
    publish(fresh, cfg2, ds, "r2019")
    with AlertStore(cfg2.store) as st:
        a = {x["area_key"]: x for x in st.alerts(target="cl")}["GHAr101"]
    assert any("over 2 year(s)" in why for why in a["reasons"])


def test_partners_scoped_to_countries_and_regions(tmp_path: Path) -> None:
    ds = region_risk()
    hot = sorted(top(ds, "cl", 2019, 0.8) | top(ds, "fl", 2019, 0.8))
    one = hot[0]
    iso = one[:3]
    partners = WHOLE.format(tmp=tmp_path) + f"""[[partner]]
id = "one"
name = "one region"
countries = ["{iso}"]
regions = ["{one}"]
channels = [{{ kind = "directory", path = "{tmp_path}/drop/one" }}]
"""
    cfg = cfg_for(tmp_path, partners=partners)
    s = publish(tmp_path, cfg, ds, "r")
    assert s["partners"]["whole"]["alerts"] == s["new"]
    mine = sorted((tmp_path / "r" / "alerts" / "partners" / "one" / "cap").glob("*.xml"))
    assert mine and all(f"-{one}-2019" in p.name for p in mine)
    # Unknown codes, regions outside the partner's countries and admin-1 scopes are refused.
    for bad, message in (
            (partners.replace(f'regions = ["{one}"]', f'regions = ["{iso}r199"]'),
             f"partner one: region '{iso}r199' is not a GDL region of the risk dataset"),
            (partners.replace(f'countries = ["{iso}"]', 'countries = ["NPL"]'),
             f"partner one: region {one} is in {iso}, not in the partner's countries"),
            (partners.replace(f'regions = ["{one}"]', f'admin1 = ["{iso}-01"]'),
             "partner one: `admin1` scopes grid areas")):
        other = tmp_path / f"bad{abs(hash(message))}"
        other.mkdir()
        with pytest.raises(ConfigError, match=message):
            publish(other, cfg_for(other, partners=bad), ds, "r")
    with pytest.raises(ConfigError, match="regions"):
        bad_code = tmp_path / "p.toml"
        bad_code.write_text(partners.replace(f'"{one}"', '"Ghana north"'))
        load_partners(bad_code)


def test_shipped_real_configs_load_and_name_shipped_regions() -> None:
    from riskmodel.config import read_toml
    from riskmodel.config import ReportConfig
    real = read_toml(ROOT / "configs" / "real.toml")
    alerts = AlertsConfig(**real["alerts"])
    assert alerts.rules == "configs/alerts-real.toml"
    assert alerts.partners == "configs/partners-real.toml"
    ReportConfig(**real["report"])
    rules = load_rules(ROOT / "configs" / "alerts-real.toml")
    assert rules.area.kind == "region" and rules.cap.status == "Exercise"
    partners = load_partners(ROOT / "configs" / "partners-real.toml")
    gdl = json.loads(dataset_path("gdl_subnational/gdl_regions.geojson").read_text())
    iso3 = {f["properties"]["gdlcode"]: f["properties"]["iso3"] for f in gdl["features"]}
    scoped = [(p, c) for p in partners.partner for c in p.regions]
    assert scoped
    for p, code in scoped:
        assert iso3[code] in p.countries


def test_stores_and_rules_do_not_mix_grids_and_regions(tmp_path: Path) -> None:
    grid_cfg = AlertsConfig(store=str(tmp_path / "alerts.sqlite"))
    publish_alerts(make_risk({"XAA-01": 0.7}), run_dir=tmp_path / "g", cfg=grid_cfg,
                   run_id="g", sent=SENT)
    cfg = cfg_for(tmp_path)  # same store
    with pytest.raises(InputError, match="holds monthly runs"):
        publish(tmp_path, cfg, region_risk(), "r")
    with pytest.raises(ConfigError, match="kind = \"region\" needs a region risk dataset"):
        publish_alerts(make_risk({"XAA-01": 0.7}), run_dir=tmp_path / "g2", cfg=cfg,
                       run_id="g2", sent=SENT)
    with pytest.raises(ConfigError, match="region risk needs kind"):
        publish(tmp_path, grid_cfg, region_risk(), "r")
    with pytest.raises(InputError, match="needs the regions' polygons"):
        publish_alerts(region_risk(), run_dir=tmp_path / "x", cfg=cfg, run_id="x", sent=SENT)
    some = polygons()
    del some["GHAr102"]
    with pytest.raises(InputError, match="no polygon for 1 region.*GHAr102"):
        RegionSource(region_risk(), some)


def test_large_multipolygon_is_simplified_to_valid_closed_rings() -> None:
    geom = polygons()["RUSr108"]
    n_in = sum(len(r) for p in geom["coordinates"] for r in p)
    assert n_in > 2000
    out = simplify_geometry(geom, 300)
    assert 1 < len(out) and sum(len(r) for p in out for r in p) <= 300
    for poly in out:
        ext = np.asarray(poly[0])
        assert len(ext) >= 4 and tuple(ext[0]) == tuple(ext[-1])
        area2 = np.sum(ext[:-1, 0] * ext[1:, 1] - ext[1:, 0] * ext[:-1, 1])
        assert area2 > 0  # exterior counter-clockwise (RFC 7946)
        assert np.all(np.abs(ext[:, 0]) <= 180) and np.all(np.abs(ext[:, 1]) <= 90)
    small = polygons()["GHAr103"]
    assert simplify_geometry(small)[0][0] == [tuple(p) for p in small["coordinates"][0]]


def test_first_night_history_opens_alerts_only_in_the_delivered_year(tmp_path: Path) -> None:
    """Years before a store's first delivery are recorded as history only: their
    observations feed persistence, but no alert, message, outbox row or file is made for
    them, so the store holds exactly what partners were sent."""
    ds = region_risk()
    rules = RULES.format(status="Exercise") + "[persistence]\nk = 2\nn = 2\n"
    cfg = cfg_for(tmp_path, rules, WHOLE.format(tmp=tmp_path))
    for y in (2017, 2018):
        s = publish(tmp_path, cfg, ds.assign_attrs(as_of=str(y)), f"r{y}", history_only=True)
        assert s["history_only"] and s["new"] == 0 and s["files"] == {}
        assert not (tmp_path / f"r{y}").exists()
    last = publish(tmp_path, cfg, ds, "r2019")
    # Persistence read the recorded years: open where the trigger held in 2018 and 2019.
    expected = {(t, c) for t in ("cl", "fl") for c in top(ds, t, 2019, 0.8)
                if c in top(ds, t, 2018, 0.8)}
    assert expected and expected != {(t, c) for t in ("cl", "fl")
                                     for c in top(ds, t, 2019, 0.8)}
    with AlertStore(cfg.store) as st:
        alerts = st.alerts()
        assert {(a["target"], a["area_key"]) for a in alerts} == expected
        assert {(a["state"], a["opened_as_of"]) for a in alerts} == {("new", "2019")}
        assert st.db.execute("SELECT count(*) FROM observations WHERE as_of < '2019'"
                             ).fetchone()[0] > 0
        assert {r[0] for r in st.db.execute("SELECT as_of FROM outbox")} == {"2019"}
        assert {r[0] for r in st.db.execute("SELECT as_of FROM messages")} == {"2019"}
    assert last["new"] == len(expected) and last["ongoing"] == 0
    # History goes before the first delivery only: refused once alerts are open.
    other = tmp_path / "other"
    other.mkdir()
    cfg2 = cfg_for(other, rules)
    assert publish(other, cfg2, ds.assign_attrs(as_of="2018"), "r2018")["new"] > 0
    with pytest.raises(InputError, match="open alerts"):
        publish(other, cfg2, ds, "r2019", history_only=True)
