"""Nightly operations: run locks, run history, crash clean-up, configured-path checks,
run-folder verification and the alert-history backfill."""
