"""Supervisory records of the synthetic world, per country-year, and their monthly series.

Need drives the record as it does in the ILO system: countries with higher latent FL or CL
problems receive more Committee of Experts observations, are called before the CAS more
often and sit on the TIP watch list more; technical-assistance requests follow
observations where political will is high; programmes follow requests. Inspection
coverage per admin-1 rises with GDP and programmes. The same records are written as the
targeting CSVs (`events.csv`, `programmes.csv`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmodel.config import WorldConfig
from riskmodel.world.fields import rng_for
from riskmodel.world.geography import Geography, Regions

CONVENTIONS = ("C029", "C105", "P029", "C138", "C182")
FL_INSTRUMENTS = ("C029", "C105", "P029")
CL_INSTRUMENTS = ("C138", "C182")
FACTORS = ("political_commitment", "root_causes", "vulnerable_populations", "knowledge",
           "financing", "innovation")
P029_OPEN_YEAR = 2015  # the 2014 Protocol opened for ratification; none before


@dataclass(frozen=True)
class Supervision:
    """Monthly supervisory series plus the event and programme tables behind them."""

    series: dict[str, np.ndarray]           # name -> (time, country) or (time, admin1)
    events: list[tuple[str, int, str, str]]  # (iso3, year, event, instrument)
    programmes: list[tuple[str, str, int, int, str, str]]  # id, focus, factors...


def make_supervision(geo: Geography | Regions, cfg: WorldConfig, seed: int, poverty: np.ndarray,
                     gdp: np.ndarray) -> Supervision:
    """Draw ratifications, observations, direct requests, CAS cases, TA requests, TIP
    watch-list years, programmes and admin-1 inspection coverage for every country-year."""
    rng = rng_for(seed, "supervision")
    nt, nc = cfg.n_months, len(geo.country_codes)
    ny_years = (nt + 11) // 12
    years = cfg.start_year + np.arange(ny_years)
    codes = geo.country_codes
    pov = poverty[::12][:ny_years]  # (year, country)
    need_fl = 0.8 * (pov - pov.mean()) / (pov.std() + 1e-12) + rng.normal(0, 0.7, nc)[None]
    need_cl = 0.8 * (pov - pov.mean()) / (pov.std() + 1e-12) + rng.normal(0, 0.7, nc)[None]
    will = rng.uniform(0, 1, nc)  # political will: drives TA requests

    def month_index(year_i: int, month: int) -> int:
        return min(nt, year_i * 12 + month)

    s = {k: np.zeros((nt, nc), np.float32) for k in (
        *(f"ratified_{c}" for c in CONVENTIONS), "observations_fl", "observations_cl",
        "direct_requests_fl", "direct_requests_cl", "cas_fl", "cas_cl", "ta_request_fl",
        "ta_request_cl", "tip_watchlist", "programme_fl", "programme_cl", "programme_fprw")}
    events: list[tuple[str, int, str, str]] = []

    for c in range(nc):
        for conv in CONVENTIONS:
            if conv == "P029":
                first = max(0, P029_OPEN_YEAR - cfg.start_year)
                draw = rng.random() < 0.5
                # A record that ends before the Protocol opened can hold no P029 ratification.
                year_i = int(rng.integers(first, ny_years + 4)) if draw and first < ny_years \
                    else None
            elif rng.random() < 0.7:
                year_i = -1  # ratified before the record starts
            else:
                year_i = int(rng.integers(0, ny_years + 6)) if rng.random() < 0.6 else None
            if year_i is None or year_i >= ny_years:
                continue
            if year_i >= 0:
                events.append((codes[c], int(years[year_i]), "ratification", conv))
            s[f"ratified_{conv}"][month_index(max(year_i, 0), 0 if year_i < 0 else
                                             int(rng.integers(0, 12))):, c] = 1.0

    for yi, year in enumerate(years):
        for c in range(nc):
            for tgt, need, instruments in (("fl", need_fl, FL_INSTRUMENTS),
                                           ("cl", need_cl, CL_INSTRUMENTS)):
                ratified = [i for i in instruments
                            if s[f"ratified_{i}"][min(nt - 1, yi * 12 + 11), c] > 0]
                lam_obs = np.exp(-1.0 + 0.8 * need[yi, c])
                n_obs = int(rng.poisson(lam_obs)) if ratified else 0
                n_dr = int(rng.poisson(0.4)) if ratified else 0
                for _ in range(n_obs):
                    events.append((codes[c], int(year), "observation", str(rng.choice(ratified))))
                for _ in range(n_dr):
                    events.append((codes[c], int(year), "direct_request",
                                   str(rng.choice(ratified))))
                # The CEACR report is public in February; CAS sits in June.
                s[f"observations_{tgt}"][month_index(yi, 1):month_index(yi, 2), c] += n_obs
                s[f"direct_requests_{tgt}"][month_index(yi, 1):month_index(yi, 2), c] += n_dr
                if ratified and rng.random() < 0.08 * np.exp(0.8 * need[yi, c]) * (n_obs > 0):
                    events.append((codes[c], int(year), "cas", str(rng.choice(ratified))))
                    s[f"cas_{tgt}"][month_index(yi, 5):month_index(yi, 6), c] += 1
                p_ta = 0.05 + 0.25 * will[c] * (n_obs > 0)
                if rng.random() < p_ta:
                    inst = str(rng.choice(ratified or list(instruments)))
                    m = int(rng.integers(0, 12))
                    events.append((codes[c], int(year), "ta_request", inst))
                    s[f"ta_request_{tgt}"][month_index(yi, m):month_index(yi, m) + 1, c] += 1
            if rng.random() < 1 / (1 + np.exp(-(need_fl[yi, c] - 0.8))):
                events.append((codes[c], int(year), "tip_watchlist", ""))
                # The TIP report appears in June; its tier holds until the next one.
                s["tip_watchlist"][month_index(yi, 5):month_index(yi + 1, 5), c] = 1.0

    programmes: list[tuple[str, str, int, int, str, str]] = []
    ta_years = {(iso, y) for iso, y, ev, _ in events if ev == "ta_request"}
    for c in range(nc):
        n_prog = int(rng.poisson(0.6 + 0.8 * will[c]))
        for k in range(n_prog):
            start_i = int(rng.integers(-3, ny_years))
            if any((codes[c], int(years[0]) + j) in ta_years for j in range(start_i - 2, start_i)):
                start_i = max(start_i, 0)
            end_i = start_i + int(rng.integers(2, 6))
            focus = str(rng.choice(["FL", "CL", "FL+CL", "FPRW"], p=[0.25, 0.35, 0.2, 0.2]))
            n_f = int(rng.integers(1, 4))
            factors = ";".join(sorted(rng.choice(FACTORS, n_f, replace=False).tolist(),
                                      key=FACTORS.index))
            pid = f"{codes[c]}-P{k + 1:02d}"
            programmes.append((codes[c], pid, int(years[0]) + start_i, int(years[0]) + end_i,
                               focus, factors))
            lo, hi = month_index(max(start_i, 0), 0), month_index(max(end_i + 1, 0), 0)
            s["programme_fprw"][lo:hi, c] = 1.0
            if focus in ("FL", "FL+CL"):
                s["programme_fl"][lo:hi, c] = 1.0
            if focus in ("CL", "FL+CL"):
                s["programme_cl"][lo:hi, c] = 1.0

    # Inspection coverage per admin-1 and year: share of workplaces within reach of the
    # inspectorate, richer places and programme countries better covered.
    n_admin = len(geo.admin1_codes)
    log_gdp = np.log(gdp[::12][:ny_years])
    gdp_z = (log_gdp - log_gdp.mean()) / (log_gdp.std() + 1e-12)
    admin_effect = rng.normal(0, 0.9, n_admin)
    ac = geo.admin1_country
    prog = s["programme_fprw"][::12][:ny_years]
    eta = (-0.6 + 0.8 * gdp_z[:, ac] + 0.5 * prog[:, ac] + admin_effect[None]
           + rng.normal(0, 0.35, (ny_years, n_admin)))
    coverage_y = np.clip(1 / (1 + np.exp(-eta)), 0.02, 0.98)
    s["inspection_coverage"] = np.repeat(coverage_y, 12, axis=0)[:nt].astype(np.float32)

    events.sort()
    programmes.sort()
    return Supervision(series=s, events=events, programmes=programmes)
