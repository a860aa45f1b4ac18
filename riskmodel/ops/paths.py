"""Checks of the paths a config names (run folders, registry, alert store, rules, partners).

A config is operator input like any other: a path with a NUL byte, an empty path, or a
`..` that climbs out of where it is written is refused with the key that holds it, before
anything is created. A path meant to live elsewhere is written absolute.
"""

from __future__ import annotations

from pathlib import PurePath

from riskmodel.config import RunConfig
from riskmodel.errors import ConfigError


def configured_paths(cfg: RunConfig) -> dict[str, str | None]:
    """Key path -> value of every path-valued setting of a run config."""
    return {"out": cfg.out, "model.registry": cfg.model.registry,
            "alerts.store": cfg.alerts.store, "alerts.rules": cfg.alerts.rules,
            "alerts.partners": cfg.alerts.partners}


def check_path(key: str, value: str, *, source: str = "config") -> None:
    """Raise `ConfigError` if `value` is empty, has a NUL or control byte, or contains `..`."""
    if not value.strip():
        raise ConfigError(f"{source}: {key}: empty path")
    if any(ord(ch) < 32 for ch in value):
        raise ConfigError(f"{source}: {key}: control character in path {value!r}")
    if ".." in PurePath(value).parts:
        raise ConfigError(f"{source}: {key}: path {value!r} climbs out with '..'; write the "
                          f"path without parent references (absolute if it lives elsewhere)")


def check_config_paths(cfg: RunConfig, source: str = "config") -> None:
    """Check every configured path of `cfg` (see `check_path`)."""
    for key, value in configured_paths(cfg).items():
        if value is not None:
            check_path(key, value, source=source)
