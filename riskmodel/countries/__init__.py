"""Country-level model of child employment on real public data: outcome, design rows,
model with intervals and baselines, grouped cross-validation, prediction for any year."""

from riskmodel.countries.cv import evaluate
from riskmodel.countries.design import Design, design_rows
from riskmodel.countries.outcome import Outcome, load_outcome
from riskmodel.countries.predict import predict_year

__all__ = ["Design", "Outcome", "design_rows", "evaluate", "load_outcome", "predict_year"]
