"""Nightly operations: run locks, run history, crash clean-up and test kill points,
configured-path checks, run-folder verification and the alert-history backfill."""
