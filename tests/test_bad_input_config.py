"""Bad-input campaign, config side: whatever bytes or values a run config holds, loading
it ends in a valid config or one `ConfigError` line naming the file, never a traceback;
paths that climb out with `..` or hold control characters are refused before a run
creates anything."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, toml_dumps
from riskmodel.cli import main
from riskmodel.config import RunConfig, load_config
from riskmodel.errors import ConfigError
from riskmodel.ops.paths import check_config_paths, check_path, configured_paths

TINY = (ROOT / "configs" / "tiny.toml").read_bytes()
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def load_or_error(path: Path, data: bytes) -> RunConfig | ConfigError:
    path.write_bytes(data)
    try:
        return load_config(path)
    except ConfigError as exc:
        msg = str(exc)
        assert msg.startswith(str(path)) and "\n" not in msg.strip(), msg
        return exc


@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    load_or_error(tmp_path / "c.toml", data)


@SETTINGS
@given(cut=st.integers(0, len(TINY)), flip=st.integers(0, len(TINY) - 1),
       byte=st.sampled_from([0x00, 0x80, 0xC3, 0xFF, ord('"'), ord("["), ord("=")]))
def test_truncated_and_corrupted_copies_of_a_real_config(tmp_path: Path, cut: int,
                                                         flip: int, byte: int) -> None:
    load_or_error(tmp_path / "c.toml", TINY[:cut])
    data = bytearray(TINY)
    data[flip] = byte
    got = load_or_error(tmp_path / "c.toml", bytes(data))
    if byte >= 0x80 and isinstance(got, ConfigError) and b"#" not in TINY[:flip]:
        assert "UTF-8" in str(got) or "TOML" in str(got)


HOSTILE = st.one_of(
    st.text(max_size=20), st.booleans(), st.lists(st.integers(), max_size=3),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), max_size=2))
KEYS = [("seed",), ("name",), ("as_of",), ("targets",), ("world", "ny"),
        ("world", "resolution"), ("world", "n_months"), ("model", "horizon"),
        ("model", "learning_rate"), ("drivers", "min_risk"), ("checks", "max_age_months"),
        ("checks", "drift_psi"), ("checks", "max_missing_share"), ("checks", "unknown_key")]


@SETTINGS
@given(key=st.sampled_from(KEYS), value=HOSTILE)
def test_wrong_types_nan_inf_and_huge_values(tmp_path: Path, key: tuple[str, ...],
                                             value: object) -> None:
    data = tomllib.loads(TINY.decode())
    section = data
    for k in key[:-1]:
        section = section.setdefault(k, {})
    section[key[-1]] = value
    got = load_or_error(tmp_path / "c.toml", toml_dumps(data).encode())
    if isinstance(got, RunConfig):  # accepted: then it is what the file says, and valid
        assert RunConfig.model_validate(got.model_dump()) == got
    if key[-1] == "unknown_key":  # (the test's TOML writer leaves control bytes unescaped)
        assert isinstance(got, ConfigError)
        assert "unknown key" in str(got) or "invalid TOML" in str(got)


PART = st.sampled_from(["..", ".", "runs", "a b", "x.sqlite", "/", "~", "é"])


@settings(max_examples=100, deadline=None)
@given(key=st.sampled_from(["out", "model.registry", "alerts.store"]),
       parts=st.lists(PART, min_size=1, max_size=5))
def test_path_traversal_is_refused_by_key(key: str, parts: list[str]) -> None:
    value = "/".join(parts)
    section, _, field = key.rpartition(".")
    cfg = RunConfig()
    if section:
        sub = getattr(cfg, section).model_copy(update={field: value})
        cfg = cfg.model_copy(update={section: sub})
    else:
        cfg = cfg.model_copy(update={field: value})
    assert configured_paths(cfg)[key] == value
    if ".." in Path(value).parts:
        with pytest.raises(ConfigError, match=f"{key}: path .* climbs out with '..'"):
            check_config_paths(cfg, "c.toml")
    else:
        check_config_paths(cfg, "c.toml")


@pytest.mark.parametrize("value", ["", "  ", "runs/\x00x", "runs\n/x"])
def test_empty_and_control_characters(value: str) -> None:
    with pytest.raises(ConfigError, match="alerts.store"):
        check_path("alerts.store", value)


def test_run_with_a_traversing_store_path_creates_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = tomllib.loads(TINY.decode())
    data["out"] = str(tmp_path / "runs")
    data["alerts"]["store"] = "runs/../../escaped.sqlite"
    (tmp_path / "c.toml").write_text(toml_dumps(data))
    with pytest.raises(SystemExit) as info:
        main(["run", "--config", str(tmp_path / "c.toml"), "--quiet"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "alerts.store: path 'runs/../../escaped.sqlite' climbs out" in err
    # Nothing but the run history, which records the refusal (docs/operations.md).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml", "runs"]
    assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "runs").rglob("*")
                  if p.is_file()) == ["runs/tiny/.lock", "runs/tiny/history.jsonl"]
