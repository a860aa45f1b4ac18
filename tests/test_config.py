"""Config loading: valid files load; errors name the file and the key path in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskmodel.config import config_hash, load_config
from riskmodel.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["demo.toml", "tiny.toml"])
def test_shipped_configs_load(name: str) -> None:
    cfg = load_config(ROOT / "configs" / name)
    assert cfg.world.n_admin1 >= cfg.world.n_countries


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert "\n" not in msg, "config errors are one line"
    assert str(path) in msg, "config errors name the file"
    return msg


def test_unknown_key_named(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[world]\nnx = 40\ncolour = 'blue'\n")
    assert "world.colour" in msg and "unknown key" in msg


def test_wrong_type_named(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[model]\nhorizon = 'three'\n")
    assert "model.horizon" in msg and "integer" in msg


def test_out_of_range_named(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[model]\nhorizon = 0\n")
    assert "model.horizon" in msg and "greater than or equal to 1" in msg


@pytest.mark.parametrize("name", [".", "..", "..."])
def test_a_name_that_is_no_folder_is_refused(tmp_path: Path, name: str) -> None:
    # Run folders are <out>/<name>/...: ".." would put them above `out`.
    msg = _error(tmp_path, f"name = {name!r}\n")
    assert "name" in msg and "dots only" in msg


def test_cross_field_rule_named(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[world]\nn_countries = 10\nn_admin1 = 5\n")
    assert "n_admin1" in msg


def test_syntax_error_named(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[world\nnx = 3\n")
    assert "invalid TOML" in msg


def test_missing_file_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_hash_changes_with_content(tmp_path: Path) -> None:
    a = load_config(ROOT / "configs" / "tiny.toml")
    b = a.model_copy(update={"seed": a.seed + 1})
    assert config_hash(a) == config_hash(load_config(ROOT / "configs" / "tiny.toml"))
    assert config_hash(a) != config_hash(b)


def test_toml_text_round_trips(tmp_path: Path) -> None:
    from riskmodel.config import read_toml, toml_text

    data = {"name": "q\"uote\\d é", "n": 3, "x": 0.25, "flag": False, "list": ["a", 1],
            "model": {"horizon": 2, "inner": {"deep": "yes"}}}
    path = tmp_path / "c.toml"
    path.write_text(toml_text(data), encoding="utf-8")
    assert read_toml(path) == data


def test_redirected_config_keeps_outputs_in_folder(tmp_path: Path) -> None:
    from riskmodel.config import redirected_config

    path = redirected_config(ROOT / "configs" / "tiny.toml", tmp_path, {"model": {"ensemble": 2}})
    cfg = load_config(path)
    for p in (cfg.out, cfg.model.registry, cfg.alerts.store):
        assert Path(p).is_relative_to(tmp_path), p
    assert Path(cfg.alerts.rules).is_absolute() and Path(cfg.alerts.rules).is_file()
    assert cfg.model.ensemble == 2 and cfg.world == load_config(ROOT / "configs/tiny.toml").world


def test_redirected_real_config_reads_back_the_same(tmp_path):
    # Category labels with spaces ("No Assessment") are TOML keys that must be quoted.
    from riskmodel.config import redirected_config
    path = redirected_config(ROOT / "configs" / "real.toml", tmp_path)
    cfg = load_config(path)
    original = load_config(ROOT / "configs" / "real.toml")
    assert cfg.sources.model_dump_json() == original.sources.model_dump_json()
    assert cfg.alerts.store == str(tmp_path / "alerts.sqlite")
