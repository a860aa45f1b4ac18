"""Acknowledgement of an alert by a partner: recorded on the alert and in its history.

An acknowledgement says "we have seen this and act on it"; it does not move the
lifecycle (the risk decides that), so the alert keeps its state and the history gets an
`acknowledged` row. Only a configured partner that covers the alert may acknowledge it
(without a partners file nobody can), and acknowledging twice is a no-op.
"""

from __future__ import annotations

from datetime import datetime, timezone

from riskmodel.alerts.partners import PartnersConfig
from riskmodel.alerts.store import AlertStore
from riskmodel.errors import ConfigError, InputError


def acknowledge(store: AlertStore, alert_id: str, partner: str, *,
                partners: PartnersConfig, note: str | None = None,
                at: datetime | None = None) -> bool:
    """Record `partner`'s acknowledgement of the alert `alert_id` (or of a CAP identifier of
    it); False if it was already acknowledged by them."""
    when = (at or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    if not partners.partner:
        raise ConfigError("acknowledging needs the partners file (--partners or the run "
                          "config's [alerts] partners): no partner can be checked without it")
    who = partners.get(partner)
    with store.transaction():
        alert = store.find_alert(alert_id)  # an alert id or a CAP identifier
        if alert is None:
            raise InputError(f"unknown alert {alert_id!r} (neither an alert id nor a CAP "
                             f"identifier in this store)")
        alert_id = alert["alert_id"]
        if not who.covers(alert):
            raise InputError(f"alert {alert_id} is not in partner {partner}'s areas")
        by = set((alert["acknowledged_by"] or "").split())
        if partner in by:
            return False
        store.update_alert(alert_id, acknowledged_at=alert["acknowledged_at"] or when,
                           acknowledged_by=" ".join(sorted(by | {partner})))
        store.add_history(alert_id, "acknowledged", when, from_state=alert["state"],
                          as_of=None, run_id=None,
                          detail={"partner": partner, "note": note, "state": alert["state"]})
    return True
