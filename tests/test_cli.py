"""The one `riskmodel` command line: its command list, what `--out` means on every command,
the options that name other places, and settings that moved (one clear line, exit 2)."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest
import xarray as xr

from riskmodel.cli import COMMAND_MODULES, build_parser, main
from riskmodel.commands._common import OUT_HELP
from riskmodel.errors import EXIT_BAD_INPUT, EXIT_LOCKED, ConfigError
from riskmodel.ops.history import history_path, record
from riskmodel.ops.lock import folder_lock, hold_lock
from tests.conftest import ROOT, write_tiny_config


def cli(*argv: str) -> int:
    """Run `riskmodel ARGV` in this process; its exit code."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    return int(info.value.code or 0)


def subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
                ) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every (sub)command parser under `parser`, keyed by its command words."""
    found = {path: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(subcommands(sub, (*path, name)))
    return found


def test_one_command_line_with_store_and_countries() -> None:
    commands = set(subcommands(build_parser()))
    assert {("store",), ("countries", "predict"), ("countries", "cv")} <= commands
    # one entry point: no `python -m riskmodel.scale` beside `riskmodel store` and `score`
    assert importlib.util.find_spec("riskmodel.scale.__main__") is None
    assert importlib.util.find_spec("riskmodel.scale.cli") is None


def test_countries_registers_from_its_own_module() -> None:
    assert "riskmodel.commands.countries" in COMMAND_MODULES
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    importlib.import_module("riskmodel.commands.backtest").register(sub)
    assert set(sub.choices) == {"backtest"}


def test_out_means_the_parent_of_run_outputs_everywhere() -> None:
    takers = []
    for words, parser in subcommands(build_parser()).items():
        for action in parser._actions:
            if "--out" in action.option_strings:
                takers.append(words)
                assert action.help == OUT_HELP, words
                assert action.default is None and not action.required, words
    # the commands that write run outputs take it; none uses it for anything else
    assert {("run",), ("score",), ("train",), ("world",), ("status",),
            ("features", "build")} <= set(takers)
    assert ("alerts", "export") not in takers


@pytest.mark.parametrize("command", [["run"], ["score", "--as-of", "2024-06"], ["train"]])
def test_run_score_train_lock_the_family_under_out(command: list[str], tiny_config: Path,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    # The lock of <out>/<name>/ is taken before any work: holding the one under --out
    # shows where the command would write, without training or scoring anything.
    family = tmp_path / "elsewhere" / "tiny"
    with hold_lock(folder_lock(family), "test"):
        code = cli(command[0], "--config", str(tiny_config), "--out",
                   str(tmp_path / "elsewhere"), *command[1:], "--quiet")
    assert code == EXIT_LOCKED
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(folder_lock(family)) in err[0]
    assert not (tmp_path / "runs").exists()  # the config's own `out` is left alone


def test_world_writes_under_out_or_to_world_dir(tiny_config: Path, tmp_path: Path) -> None:
    assert cli("world", "--config", str(tiny_config), "--out", str(tmp_path / "o"),
               "--quiet") == 0
    assert sorted(p.name for p in (tmp_path / "o" / "tiny" / "world").iterdir()) == [
        "events.csv", "programmes.csv", "world.nc"]
    assert cli("world", "--config", str(tiny_config), "--world-dir", str(tmp_path / "w"),
               "--quiet") == 0
    assert (tmp_path / "w" / "world.nc").is_file()
    assert not (tmp_path / "runs").exists()


def test_features_build_writes_under_out_or_to_cube(tiny_config: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    assert cli("features", "build", "--config", str(tiny_config), "--out",
               str(tmp_path / "o"), "--quiet") == 0
    with xr.open_dataset(tmp_path / "o" / "tiny" / "features.nc") as cube:
        assert "spi_12" in cube
    # the default `out` is the config's (runs/ beside the redirected config)
    assert cli("features", "build", "--config", str(tiny_config), "--quiet") == 0
    assert (tmp_path / "runs" / "tiny" / "features.nc").is_file()
    assert cli("features", "build", "--config", str(tiny_config), "--cube",
               str(tmp_path / "c.nc"), "--quiet") == 0
    assert (tmp_path / "c.nc").is_file()
    capsys.readouterr()
    # `--out FILE.nc` (the option's old meaning here) is refused, naming the new option
    assert cli("features", "build", "--config", str(tiny_config), "--out",
               str(tmp_path / "x.nc")) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--cube FILE.nc" in err[0]
    assert not (tmp_path / "x.nc").exists()


def test_status_reads_the_history_under_out(tiny_config: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    record(history_path(tmp_path / "o" / "tiny"),
           {"run_id": "r", "started": "2026-01-01T02:00:00+00:00", "status": "ok",
            "as_of": "2024-06", "exit_code": 0})
    assert cli("status", "--config", str(tiny_config), "--out", str(tmp_path / "o"),
               "--json") == 0
    assert [e["run_id"] for e in json.loads(capsys.readouterr().out)] == ["r"]
    assert cli("status", "--config", str(tiny_config), "--json") == 0
    assert json.loads(capsys.readouterr().out) == []  # nothing under the config's `out`


def test_alerts_export_names_its_destination(tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    store = str(tmp_path / "a.sqlite")
    assert cli("alerts", "export", "--store", store, "--out", str(tmp_path / "x")) == 2
    assert "--dest" in capsys.readouterr().err  # argparse: --dest is required, --out unknown


def test_store_without_a_store_fails_in_one_line(tiny_config: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    assert cli("store", "--config", str(tiny_config)) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no [scale] inputs store named" in err[0] and "--store" in err[0]


def test_store_writes_the_configs_zarr_store(tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    config = write_tiny_config(tmp_path, scale={"inputs": str(tmp_path / "in.zarr")})
    assert cli("store", "--config", str(config), "--chunk", "16") == 0
    assert (tmp_path / "in.zarr" / ".zmetadata").is_file()
    assert "whole world written to" in capsys.readouterr().out


def test_alerts_threshold_moved_to_the_rules_file(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    config = write_tiny_config(tmp_path, alerts={"threshold": 0.3})
    assert cli("run", "--config", str(config), "--quiet") == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"{config}: alerts.threshold: no longer read here" in err[0]
    assert "[threshold] in the rules file that [alerts] rules names" in err[0]
    # Nothing but the run history, which records the refusal (docs/operations.md).
    assert sorted(p.name for p in (tmp_path / "runs").rglob("*") if p.is_file()) == [
        ".lock", "history.jsonl"]
    # a backtest config is a run config: the same line
    from riskmodel.backtest import load_backtest_config

    data = (ROOT / "configs" / "backtest-tiny.toml").read_text()
    bad = tmp_path / "bt.toml"
    bad.write_text(data.replace("[backtest]", "[alerts]\nthreshold = 0.3\n\n[backtest]"))
    with pytest.raises(ConfigError, match=r"bt.toml: alerts.threshold: no longer read here"):
        load_backtest_config(bad)


def test_shipped_configs_keep_the_threshold_in_one_place() -> None:
    from riskmodel.alerts.rules import load_rules
    from riskmodel.config import read_toml

    for path in sorted((ROOT / "configs").glob("*.toml")):
        alerts = read_toml(path).get("alerts", {})
        assert "threshold" not in alerts, path.name
        if "rules" in alerts:  # the level the config alerts at is in its rules file
            assert load_rules(ROOT / alerts["rules"]).threshold.enabled, path.name
