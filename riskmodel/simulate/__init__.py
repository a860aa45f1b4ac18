"""Closed-loop simulation on the synthetic worlds: partners visit alerted areas, the
world's truth decides what each visit finds, outcomes flow back into the models
(`riskmodel.models.outcomes`), and the models retrain on the config's schedule
(`loop`, `runner`, `summary`, `report`; docs/simulate.md)."""
