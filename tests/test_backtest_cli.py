"""`riskmodel backtest` end to end on the tiny world: the OUT.json contract, the report,
byte-identical reruns, the leak refusal and one-line config errors."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from riskmodel import cli
from riskmodel.backtest import backtest_json, load_backtest_config, run_backtest, runner
from riskmodel.io.atomic import write_json

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "configs" / "backtest-tiny.toml"
KEYS = ("auc", "pr_auc", "brier", "brier_skill", "log_loss", "ece", "precision_at_budget",
        "recall_at_budget", "hit_rate", "false_alarm_rate", "lead_time_months")
METHODS = ("model", "persistence", "logistic", "composite", "oracle")


def _main(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    return int(info.value.code)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One CLI backtest on configs/backtest-tiny.toml with its report."""
    folder = tmp_path_factory.mktemp("backtest")
    out, report = folder / "out.json", folder / "report.html"
    code = _main(["backtest", "--config", str(TINY), "--json", str(out), "--deployed",
                  str(ROOT / "configs" / "demo.toml"),
                  "--report", str(report), "--quiet"])
    assert code == 0
    return {"doc": json.loads(out.read_text()), "report": report}


def test_backtest_is_a_registered_command() -> None:
    assert "riskmodel.commands.backtest" in cli.COMMAND_MODULES


def test_out_json_contract(smoke: dict) -> None:
    doc = smoke["doc"]
    assert doc["synthetic"] is True and "not evidence" in doc["note"]
    assert "oracle minus each method" in doc["headroom_meaning"]
    cfg = tomllib.loads(TINY.read_text())
    assert set(doc["targets"]) == {"fl", "cl"}
    for target in doc["targets"].values():
        assert set(target["pooled"]) == set(METHODS)
        for metrics in target["pooled"].values():
            assert set(KEYS) <= set(metrics)
            assert 0 <= metrics["auc"] <= 1 and 0 <= metrics["pr_auc"] <= 1
        assert len(target["origins"]) == cfg["backtest"]["origins"]
        for o in target["origins"]:
            assert re.fullmatch(r"\d{4}-\d{2}", o["origin"])
            assert all(set(KEYS) <= set(o[m]) for m in METHODS)
        for base in ("persistence", "logistic", "composite", "oracle"):
            d = target["differences"][base]["pr_auc"]
            assert d["lo"] <= d["estimate"] <= d["hi"]
            for d in target["differences"][base].values():
                assert not (d["degenerate"] and d["excludes_zero"])
        # The visits at budget: how many admin-1 units stand behind them.
        for m in METHODS:
            v = target["visited_units"][m]
            assert 1 <= v["replicate_min"] <= v["replicate_median"]
            assert 1 <= v["estimate"] <= doc["areas"]
        # Headroom: the oracle minus each method, on the same replicates, so oracle minus
        # model is the model-minus-oracle difference turned round, interval included.
        assert set(target["headroom"]) == set(METHODS) - {"oracle"}
        for k, d in target["headroom"]["model"].items():
            back = target["differences"]["oracle"][k]
            assert d["estimate"] == pytest.approx(-back["estimate"], abs=2e-6)
            assert (d["lo"], d["hi"]) == pytest.approx((-back["hi"], -back["lo"]), abs=2e-6)
        pr = target["pooled"]
        assert target["headroom"]["logistic"]["pr_auc"]["estimate"] == pytest.approx(
            pr["oracle"]["pr_auc"] - pr["logistic"]["pr_auc"], abs=2e-6)
        assert set(target["importance"]["domains"]) <= {"climatic", "economic",
                                                        "demographic", "supervisory"}
    # The verdict is the one computed from these differences, and names every target.
    from riskmodel.backtest.verdict import backtest_verdict

    assert doc["verdict"] == backtest_verdict(doc)
    assert {line.split(",")[0].split(":")[0] for line in doc["verdict"]["lines"]} == {
        "FL", "CL"}
    # The tiny config's model settings are not the demo's: the document says where.
    assert doc["deployed_model"]["config"].endswith("demo.toml")
    assert doc["deployed_model"]["same"] is False
    assert "negative_rate" in doc["deployed_model"]["differences"]
    # The oracle knows the truth: it ranks better than persistence on both targets.
    for target in doc["targets"].values():
        assert target["pooled"]["oracle"]["auc"] > target["pooled"]["persistence"]["auc"]


def test_report_has_every_figure(smoke: dict) -> None:
    report: Path = smoke["report"]
    text = report.read_text()
    assert "Synthetic world" in text
    # The verdict comes first, before any table of numbers.
    assert text.index("<h2>Verdict</h2>") < text.index("<table")
    assert "Headroom: oracle minus each method" in text
    pngs = re.findall(r"src='([^']+\.png)'", text)
    for kind in ("per_origin", "reliability", "pr_curves", "importance", "map_model",
                 "map_oracle"):
        assert any(kind in p for p in pngs), kind
    for p in pngs:
        assert (report.parent / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _small_config(folder: Path) -> Path:
    text = TINY.read_text().replace("origins = 3", "origins = 2").replace(
        "bootstrap = 50", "bootstrap = 20")
    path = folder / "small.toml"
    path.write_text('targets = ["fl"]\n' + text)
    return path


def test_same_config_gives_identical_json(tmp_path: Path) -> None:
    path = _small_config(tmp_path)
    cfg = load_backtest_config(path)
    for name in ("a.json", "b.json"):
        write_json(tmp_path / name, backtest_json(run_backtest(cfg, source=str(path))))
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_training_rows_past_the_origin_are_refused(tmp_path: Path, monkeypatch,
                                                   capsys) -> None:
    real = runner.training_table

    def leaky(cfg, inputs, cube, target, features, months):  # one month too many
        return real(cfg, inputs, cube, target, features, np.r_[months, months[-1] + 1])

    monkeypatch.setattr(runner, "training_table", leaky)
    out = tmp_path / "out.json"
    code = _main(["backtest", "--config", str(_small_config(tmp_path)), "--json", str(out),
                  "--quiet"])
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "past the origin" in err


def test_bad_config_one_line_no_output(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY.read_text().replace("budget = 10", "budget = 0"))
    out = tmp_path / "out.json"
    assert _main(["backtest", "--config", str(bad), "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "backtest.budget" in err and not out.exists()


def test_bad_origin_fails_before_building_the_world(tmp_path: Path, monkeypatch,
                                                   capsys) -> None:
    def no_world(ctx):  # the origin check must come first
        raise AssertionError("world built before the origins were checked")

    monkeypatch.setattr(runner, "load_world", no_world)
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY.read_text().replace("origins = 3", "origins = 30"))
    out = tmp_path / "out.json"
    assert _main(["backtest", "--config", str(bad), "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "bad.toml: backtest.origins: 30 origins" in err and not out.exists()


def test_backtest_pools_worlds_of_several_seeds(tmp_path: Path) -> None:
    path = _small_config(tmp_path)
    out = tmp_path / "worlds.json"
    assert _main(["backtest", "--config", str(path), "--json", str(out), "--seeds", "2",
                  "--scenario", "nonlinear", "--quiet"]) == 0
    doc = json.loads(out.read_text())
    assert doc["seeds"] == [1, 2] and doc["scenario"] == "nonlinear"
    t = doc["targets"]["fl"]
    assert [o["seed"] for o in t["origins"]] == [1, 1, 2, 2]
    # the worlds differ, so do their origins' figures
    assert t["origins"][0]["model"]["pr_auc"] != t["origins"][2]["model"]["pr_auc"]
    assert t["rows"] == sum(o["test_rows"] for o in t["origins"])
    assert set(t["differences"]["logistic"]["pr_auc"]) >= {"lo", "hi", "degenerate"}


def test_pooled_worlds_keep_their_units_apart() -> None:
    def run(units: list[int]) -> runner.BacktestRun:
        res = runner.TargetResult(preds={"model": [np.zeros(len(units))]},
                                  tally={"model": runner.Tally()})
        res.y, res.reference = [np.zeros(len(units))], [np.zeros(len(units))]
        res.cluster, res.group = [np.array(units)], [np.zeros(len(units), int)]
        res.origins = [{"origin": "2020-01"}]
        return runner.BacktestRun(cfg=None, origins=[], methods=("model",), features=(),
                                  synthetic=True, note="", cells=np.arange(len(units)),
                                  cluster=np.array(units), grid=None,
                                  targets={"fl": res}, timings={"a": 1.0})

    pooled = runner.pool_worlds([run([0, 1, 1]), run([0, 1, 2])], [5, 6])
    res = pooled.targets["fl"]
    assert res.pooled("cluster").tolist() == [0, 1, 1, 2, 3, 4]
    assert res.pooled("group").tolist() == [0, 0, 0, 1, 1, 1]
    assert [o["seed"] for o in res.origins] == [5, 6]
    assert pooled.seeds == (5, 6) and pooled.timings == {"a": 2.0}


def test_without_json_prints_the_pooled_table(smoke: dict, tmp_path: Path, monkeypatch,
                                              capsys) -> None:
    # The backtest itself is the smoke run's: only the CLI's output differs without --json.
    from riskmodel.commands import backtest as command

    monkeypatch.setattr(command, "run_backtest", lambda cfg, source, progress: None)
    monkeypatch.setattr(command, "backtest_json", lambda result, deployed=None: smoke["doc"])
    monkeypatch.chdir(tmp_path)
    assert _main(["backtest", "--config", str(TINY), "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["target", "method", "AUC", "PR-AUC"]
    assert not list(tmp_path.iterdir()), "nothing is written without --json or --report"
    for target, t in smoke["doc"]["targets"].items():
        for method, m in t["pooled"].items():
            row = next(x.split() for x in out if x.split()[:2] == [target, method])
            assert row[2] == f"{m['auc']:.3f}" and row[3] == f"{m['pr_auc']:.3f}"


def test_each_origin_is_a_progress_line_unless_quiet(tmp_path: Path, capsys) -> None:
    path = _small_config(tmp_path)  # fl only, 2 origins
    assert _main(["backtest", "--config", str(path)]) == 0
    cap = capsys.readouterr()
    done = re.findall(r'stage=fl (\d{4}-\d\d) status=done', cap.err)
    assert len(done) == 2, cap.err
    assert cap.out.splitlines()[0].startswith("target") and "fl     model" in cap.out
