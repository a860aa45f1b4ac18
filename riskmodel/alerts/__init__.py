"""Alerts for national partners: rules, areas, prioritisation, store, formats, delivery.

Entry point for the nightly run: `riskmodel.alerts.publish.publish_alerts`. The CLI lives in
`riskmodel.commands.alerts`; see docs/alerts.md.
"""
