"""Alert-history backfill: which months to publish before the first nightly run.

Alert rules ask a trigger to hold in k of the last n runs, so a store with no history can
open no alert on its first night however high the risk. Publishing the n-1 months before
the as-of month first (oldest first) gives the rules the history they would have had, so
the first run's alerts reflect persistence honestly. Only months after the store's newest
run qualify: the store never goes back in time, and months it has are never redone.
"""

from __future__ import annotations

from riskmodel.alerts.rules import load_rules
from riskmodel.alerts.store import AlertStore
from riskmodel.config import AlertsConfig


def persistence_window(cfg: AlertsConfig) -> int:
    """n of the rules' "k of the last n runs" persistence (1: no history needed)."""
    return load_rules(cfg.rules).persistence.n


def months_to_backfill(cfg: AlertsConfig, labels: list[str], month: int,
                       first_usable: int = 0) -> list[int]:
    """Time indices before `month` to publish first, oldest first (may be empty).

    `labels`: YYYY-MM of every time index; `first_usable`: the first index whose features
    are valid (after the warm-up).
    """
    n = persistence_window(cfg)
    if not cfg.enabled or n <= 1:
        return []
    with AlertStore(cfg.store) as store:
        latest = store.latest_as_of()
    start = max(first_usable, month - (n - 1))
    return [i for i in range(start, month) if latest is None or labels[i] > latest]


def carried_from_backfill(store: str, backfilled: list[str], as_of: str) -> int:
    """How many alerts opened in the `backfilled` months were carried through the `as_of`
    month without a change of state (so its summary counted them `ongoing`): read from the
    store after the as-of month is published. Partners receive these for the first time
    on the night of the backfill, so the night counts them as new, not as ongoing."""
    if not backfilled:
        return 0
    marks = ",".join("?" * len(backfilled))
    with AlertStore(store, readonly=True) as st:
        row = st.db.execute(
            f"SELECT COUNT(*) FROM alerts WHERE opened_as_of IN ({marks}) "
            f"AND last_as_of = ? AND state != 'resolved' AND alert_id NOT IN "
            f"(SELECT alert_id FROM history WHERE as_of = ? AND to_state = 'escalated')",
            (*backfilled, as_of, as_of)).fetchone()
    return int(row[0])
