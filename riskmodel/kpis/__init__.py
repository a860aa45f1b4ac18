"""Key performance indicators: what alerts lead to, and what partners' programmes achieve.

`catalogue.CATALOGUE` documents the engine's KPIs; `compute.compute_kpis` computes them
from an alert store per partner, country, target and period; `interventions` validates,
stores and aggregates the programme results partners report (harmonised CSV);
`join.country_view` puts need, programmes, results and KPIs side by side per country;
`html` renders them. See docs/kpis.md.
"""
