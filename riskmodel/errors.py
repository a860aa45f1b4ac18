"""Errors the engine reports to users, each with its process exit code.

A `RiskmodelError` is an expected failure (bad input, stale data, a held lock): the CLI
prints its message as one line and exits with its `exit_code`, without a traceback unless
`--debug`. Anything else that escapes is an internal error (exit code 1).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_STALE_INPUT = 3
EXIT_DRIFT = 4
EXIT_LOCKED = 5


class RiskmodelError(Exception):
    """An expected, user-facing failure; the message names the file, key or row at fault."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(RiskmodelError):
    """A config file is missing, unparsable or fails validation."""


class InputError(RiskmodelError):
    """An input file or dataset fails its contract (dims, units, codes, values)."""


class ModelError(RiskmodelError):
    """A registered model cannot be used (hash or feature-list mismatch, missing file)."""


class StaleInputError(RiskmodelError):
    """An input's newest data is older than the freshness threshold allows."""

    exit_code = EXIT_STALE_INPUT


class DriftError(RiskmodelError):
    """A feature's distribution drifted beyond the configured threshold."""

    exit_code = EXIT_DRIFT


class LockHeldError(RiskmodelError):
    """Another run holds the lock on the run folder or alert store."""

    exit_code = EXIT_LOCKED
