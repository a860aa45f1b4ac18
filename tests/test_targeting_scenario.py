"""The published 2021-2023 targeting scenario, reproduced from a fixture.

The fixture (tests/data/targeting/*.csv) is written by tests/data/targeting/scenario.py,
whose docstring lays the scenario out as a table of country blocks with the arithmetic;
the first test keeps the committed CSVs and that table in step.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from riskmodel.targeting import assess, load_inputs, summarize
from riskmodel.targeting.inputs import Event, Programme

DATA = Path(__file__).parent / "data" / "targeting"
EVENTS, PROGRAMMES = DATA / "events.csv", DATA / "programmes.csv"


def _scenario_module():
    spec = importlib.util.spec_from_file_location("targeting_scenario", DATA / "scenario.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def inputs() -> tuple[list[Event], list[Programme]]:
    return load_inputs(EVENTS, PROGRAMMES)


@pytest.fixture(scope="module")
def blocks() -> dict[str, list[str]]:
    return _scenario_module().build()[0]


def test_committed_fixture_matches_its_generator() -> None:
    events, programmes = _scenario_module().csv_texts()
    assert EVENTS.read_text(encoding="utf-8") == events
    assert PROGRAMMES.read_text(encoding="utf-8") == programmes


def test_published_2021_2023_counts(inputs) -> None:
    groups = summarize(*inputs, (2021, 2023))["groups"]
    top = {k: v for k, v in groups["forced_labour"].items() if k != "ta"}
    # 79 observed, 6 CAS, 37 with FPRW programming (26 focused), 42 without.
    assert top == {"observed": 79, "cas": 6, "with_fprw_programming": 37,
                   "with_focused_programming": 26, "without_fprw_programming": 42,
                   "without_focused_programming": 53}
    top = {k: v for k, v in groups["child_labour"].items() if k != "ta"}
    # 103 observed, 7 CAS, 46 with FPRW programming, 40 focused, 63 without focused.
    assert top == {"observed": 103, "cas": 7, "with_fprw_programming": 46,
                   "with_focused_programming": 40, "without_fprw_programming": 57,
                   "without_focused_programming": 63}
    top = {k: v for k, v in groups["forced_labour_protocol"].items() if k != "ta"}
    assert top == {"observed": 8, "cas": 0, "with_fprw_programming": 6,
                   "with_focused_programming": 5, "without_fprw_programming": 2,
                   "without_focused_programming": 3}


def test_published_ta_counts(inputs) -> None:
    # C029/C105 requests 2019-2023: 4, 3 with observations and on the TIP Watch List,
    # none with programming.
    fl = summarize(*inputs, (2019, 2023))["groups"]["forced_labour"]["ta"]
    assert fl == {"requested": 4, "with_observations_or_cas": 3, "on_tip_watchlist": 3,
                  "with_fprw_programming": 0, "with_focused_programming": 0,
                  "without_fprw_programming": 4, "without_focused_programming": 4}
    # P029 requests in 2021: 32, 18 with programming (10 focused), 14 without.
    p029 = summarize(*inputs, (2021, 2021))["groups"]["forced_labour_protocol"]["ta"]
    assert p029 == {"requested": 32, "with_observations_or_cas": 2, "on_tip_watchlist": 3,
                    "with_fprw_programming": 18, "with_focused_programming": 10,
                    "without_fprw_programming": 14, "without_focused_programming": 22}
    # C138/C182 requests 2019-2023: 10, 8 with observations or CAS, 3 with child-labour
    # programming, 7 without.
    cl = summarize(*inputs, (2019, 2023))["groups"]["child_labour"]["ta"]
    assert cl == {"requested": 10, "with_observations_or_cas": 8, "on_tip_watchlist": 1,
                  "with_fprw_programming": 5, "with_focused_programming": 3,
                  "without_fprw_programming": 5, "without_focused_programming": 7}


def test_json_shape_and_window(inputs) -> None:
    out = summarize(*inputs, (2021, 2023))
    assert out["window"] == [2021, 2023]
    assert list(out["groups"]) == ["forced_labour", "forced_labour_protocol", "child_labour"]
    for g in out["groups"].values():
        assert g["observed"] == g["with_fprw_programming"] + g["without_fprw_programming"]
        assert g["observed"] == g["with_focused_programming"] + g["without_focused_programming"]
        assert g["with_focused_programming"] <= g["with_fprw_programming"]
        assert g["cas"] <= g["observed"]


def test_decoy_countries_count_nowhere(inputs, blocks) -> None:
    assessment = assess(*inputs, (2021, 2023))
    decoys = set(blocks["Z"]) - {blocks["Z"][7]}  # Z7 has an in-window TA on C087 only
    for statuses in assessment.groups.values():
        assert not decoys & set(statuses)
        assert blocks["Z"][7] not in statuses


def test_expired_and_future_programmes_do_not_count(inputs, blocks) -> None:
    fl = assess(*inputs, (2021, 2023)).groups["forced_labour"]
    # E and H have programmes 2015-2020 and 2024-2026 for their first five countries.
    for iso3 in blocks["E"][:5] + blocks["H"][:5]:
        assert fl[iso3].observed and not fl[iso3].fprw_programming


def test_decoys_are_what_keeps_the_counts(inputs, blocks) -> None:
    """Decoys made real move the count: the fixture's decoys are live, not inert rows."""
    events, programmes = inputs
    base = summarize(events, programmes, (2021, 2023))["groups"]["forced_labour"]
    z0 = blocks["Z"][0]
    assert Event(z0, 2020, "observation", "C029").key() in {e.key() for e in events}
    moved = [Event(z0, 2021, "observation", "C029")]  # the same decoy, moved into the window
    after = summarize(events + moved, programmes, (2021, 2023))["groups"]["forced_labour"]
    assert after["observed"] == base["observed"] + 1
    direct = [e for e in events if e.event == "direct_request" and e.instrument == "C029"
              and 2021 <= e.year <= 2023]
    assert direct, "fixture lost its direct-request decoy"
    as_obs = [Event(e.iso3, e.year, "observation", e.instrument) for e in direct]
    after = summarize(events + as_obs, programmes, (2021, 2023))["groups"]["forced_labour"]
    assert after["observed"] > base["observed"]


def test_duplicates_count_once(inputs) -> None:
    events, programmes = inputs
    keys = [e.key() for e in events]
    assert len(keys) > len(set(keys)), "fixture lost its duplicate-event decoys"
    doubled = summarize(events + events, programmes + programmes, (2021, 2023))
    assert doubled == summarize(events, programmes, (2021, 2023))


def test_cas_without_observation_counts_for_ta_not_top_level(inputs, blocks) -> None:
    """Top-level counts are over observed countries (as published): block U2 went before
    the CAS in 2020 with no observation, so 2019-2023 keeps 7 CAS countries for child
    labour, while U2's TA requests count as requests "with observations or CAS"."""
    assessment = assess(*inputs, (2019, 2023))
    cl = assessment.groups["child_labour"]
    assert all(cl[c].cas and not cl[c].observed and cl[c].ta_requested for c in blocks["U2"])
    groups = summarize(*inputs, (2019, 2023))["groups"]
    assert groups["child_labour"]["cas"] == 7
    assert groups["child_labour"]["ta"]["with_observations_or_cas"] == 8
