"""The published targeting scenario as fictional countries (XAA...), with decoys.

Run `python tests/data/targeting/scenario.py` to rewrite events.csv and programmes.csv next
to this file; tests/test_targeting_scenario.py checks the committed CSVs equal `build()`.

Top level, window 2021-2023 (observations in 2021, 2022 or 2023; "prog" is the focus of the
country's programme active in the window):

    block  n   FL obs  CL obs  prog    FL CAS  CL CAS  P029 obs
    A      10  yes     yes     FL+CL   2       2       3
    B      4   yes     yes     FL      0       1       0
    C      8   yes     yes     CL      1       0       0
    D      1   yes     yes     FPRW    0       0       1
    E      30  yes     yes     -       2       2       2
    F      12  yes     -       FL      0       -       0
    G      2   yes     -       FPRW    0       -       0
    H      12  yes     -       -       1       -       0
    I      22  -       yes     CL      -       1       0
    J      1   -       yes     FPRW    -       0       0
    K      27  -       yes     -       -       1       0

    forced labour: observed A..H = 10+4+8+1+30+12+2+12 = 79; CAS 2+1+2+1 = 6;
      FPRW programming A+B+C+D+F+G = 37; focused (FL, FL+CL) A+B+F = 26;
      without FPRW E+H = 42; without focused 79-26 = 53.
    child labour: observed A..E+I..K = 53+22+1+27 = 103; CAS 2+1+2+1+1 = 7;
      FPRW programming A+B+C+D+I+J = 46; focused (CL, FL+CL) A+C+I = 40;
      without FPRW E+K = 57; without focused 103-40 = 63.
    P029: observed 3+1+2 (+2 of block V1, in 2021) = 8; CAS 0; FPRW 3+1+2 = 6;
      focused 3+2 = 5; without FPRW 2; without focused 3.

Technical assistance (blocks with no observations in 2021-2023 on their group):

    T1  3   TA C029/C105 2019-2023; observation 2019/2020; TIP Watch List; no programme
    T2  1   TA C105 2022; observation 2017, Watch List 2017, programme 2012-2018 (all
            before 2019: decoys)
      -> C029/C105, 2019-2023: 4 requests, 3 with observations, 3 on the Watch List,
         none with programming.
    U1  6   TA C138/C182; observation 2019/2020; programmes CL, FL+CL, CL, FL, FPRW, none
    U2  2   TA C182; CAS C182 2020, no observation; first one on the Watch List 2021
    U3  2   TA C138; only a direct request (C138 2020) or an observation on C087 (decoys)
      -> C138/C182, 2019-2023: 10 requests, 8 with observations or CAS, 1 on the Watch
         List, 5 with FPRW programming, 3 with child-labour programming, 7 without.
    V1  10  TA P029 2021; programme FL or FL+CL active in 2021; first two observed on
            P029 in 2021
    V2  8   TA P029 2021; programme CL or FPRW active in 2021
    V3  14  TA P029 2021; no programme in 2021 (one ended 2020, one starts 2022: decoys);
            first three on the Watch List 2021
      -> P029, 2021: 32 requests, 18 with programming (10 focused), 14 without, 2 with
         observations, 3 on the Watch List.

Decoys that must not count anywhere above: observations outside the window (2020, 2024),
direct requests, observations and CAS under other conventions (C087, C098), ratifications,
TA requests outside the window or on other conventions, programmes that ended before or
start after the window, and exact duplicate event and programme rows.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FACTORS = ("political_commitment", "root_causes", "vulnerable_populations", "knowledge",
           "financing", "innovation")
# Programme periods that all overlap 2021-2023 (touching either end counts).
SPANS = ((2018, 2021), (2020, 2024), (2023, 2027), (2015, 2030))
# Periods that all overlap 2021 alone (for the P029 requests of 2021); (2021, 2021) is a
# one-year programme.
SPANS_2021 = ((2018, 2021), (2020, 2024), (2021, 2021), (2015, 2030))

# (block, n, FL obs, CL obs, programme focus, FL CAS, CL CAS, P029 obs)
TOP_LEVEL = (
    ("A", 10, True, True, "FL+CL", 2, 2, 3),
    ("B", 4, True, True, "FL", 0, 1, 0),
    ("C", 8, True, True, "CL", 1, 0, 0),
    ("D", 1, True, True, "FPRW", 0, 0, 1),
    ("E", 30, True, True, None, 2, 2, 2),
    ("F", 12, True, False, "FL", 0, 0, 0),
    ("G", 2, True, False, "FPRW", 0, 0, 0),
    ("H", 12, True, False, None, 1, 0, 0),
    ("I", 22, False, True, "CL", 0, 1, 0),
    ("J", 1, False, True, "FPRW", 0, 0, 0),
    ("K", 27, False, True, None, 0, 1, 0),
)


def codes() -> list[str]:
    """All fictional ISO3 codes XAA..XZZ in order."""
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    return [f"X{a}{b}" for a in letters for b in letters]


def build() -> tuple[dict[str, list[str]], list[tuple], list[tuple]]:
    """The scenario: block -> country codes, event rows, programme rows (without headers)."""
    pool = iter(codes())
    blocks: dict[str, list[str]] = {}
    events: list[tuple] = []
    progs: list[tuple] = []

    def take(block: str, n: int) -> list[str]:
        blocks[block] = [next(pool) for _ in range(n)]
        return blocks[block]

    def programme(iso3: str, focus: str, span: tuple[int, int], k: int, tag: str = "1") -> None:
        # Factor sets vary from one to all six, so the coverage matrix has gaps and none.
        factors = ";".join(FACTORS[j] for j in range(6) if (k >> j) % 2 or j == k % 6)
        progs.append((iso3, f"{iso3}-{focus}-{tag}", span[0], span[1], focus, factors))

    k = 0
    for block, n, fl, cl, focus, fl_cas, cl_cas, p029 in TOP_LEVEL:
        for i, iso3 in enumerate(take(block, n)):
            k += 1
            year = 2021 + k % 3
            if fl:
                events.append((iso3, year, "observation", "C029" if k % 2 else "C105"))
                if k % 3 == 0:  # a second observation, other convention: still one country
                    events.append((iso3, 2023, "observation", "C105" if k % 2 else "C029"))
            if cl:
                events.append((iso3, 2021 + (k + 1) % 3, "observation",
                               "C138" if k % 2 else "C182"))
            if i < fl_cas:
                events.append((iso3, 2022, "cas", "C029"))
            if i < cl_cas:
                events.append((iso3, 2023, "cas", "C182"))
            if i < p029:
                events.append((iso3, 2022, "observation", "P029"))
            if focus is not None:
                programme(iso3, focus, SPANS[k % 4], k)
            elif i < 3:
                programme(iso3, "FL+CL", (2015, 2020), k, "old")  # ended before: decoy
            elif i < 5:
                programme(iso3, "FPRW", (2024, 2026), k, "new")  # starts after: decoy
            if i == 0:
                events.append(events[-1])  # an exact duplicate row: still one event

    # Decoys on counted countries: CAS and observations on other conventions, direct
    # requests, a ratification, a duplicate programme row.
    e0, a0 = blocks["E"][0], blocks["A"][0]
    events += [(e0, 2022, "cas", "C087"), (e0, 2022, "observation", "C098"),
               (e0, 2021, "direct_request", "C029"), (a0, 2021, "ratification", "P029")]
    progs.append(progs[0])

    for iso3 in take("T1", 3):
        events += [(iso3, 2019 + len(events) % 2, "observation", "C029"),
                   (iso3, 2020, "tip_watchlist", ""), (iso3, 2022, "tip_watchlist", ""),
                   (iso3, 2021, "ta_request", "C029")]
    events.append(events[-1])  # duplicate TA request
    (t2,) = take("T2", 1)
    events += [(t2, 2022, "ta_request", "C105"), (t2, 2017, "observation", "C029"),
               (t2, 2017, "tip_watchlist", "")]
    programme(t2, "FL", (2012, 2018), 3)

    u1 = take("U1", 6)
    for j, (iso3, focus) in enumerate(zip(u1, ("CL", "FL+CL", "CL", "FL", "FPRW", None))):
        events += [(iso3, 2019 + j % 2, "observation", "C138" if j % 2 else "C182"),
                   (iso3, 2020 + j % 4, "ta_request", "C182" if j % 2 else "C138")]
        if focus is not None:
            programme(iso3, focus, (2019, 2020) if j == 0 else (2022, 2025), j + 7)
    for j, iso3 in enumerate(take("U2", 2)):
        events += [(iso3, 2020, "cas", "C182"), (iso3, 2023, "ta_request", "C182")]
        if j == 0:
            events.append((iso3, 2021, "tip_watchlist", ""))
    u3 = take("U3", 2)
    events += [(u3[0], 2020, "direct_request", "C138"), (u3[0], 2019, "ta_request", "C138"),
               (u3[1], 2020, "observation", "C087"), (u3[1], 2021, "ta_request", "C138")]

    for j, iso3 in enumerate(take("V1", 10)):
        events.append((iso3, 2021, "ta_request", "P029"))
        if j < 2:
            events.append((iso3, 2021, "observation", "P029"))
        programme(iso3, "FL" if j % 2 else "FL+CL", SPANS_2021[j % 4], j)
    events.append(events[-1])  # duplicate TA request
    for j, iso3 in enumerate(take("V2", 8)):
        events.append((iso3, 2021, "ta_request", "P029"))
        programme(iso3, "CL" if j % 2 else "FPRW", SPANS_2021[j % 4], j + 20)
    for j, iso3 in enumerate(take("V3", 14)):
        events.append((iso3, 2021, "ta_request", "P029"))
        if j < 3:
            events.append((iso3, 2021, "tip_watchlist", ""))
        if j == 3:
            programme(iso3, "FL", (2015, 2020), j)  # ended before 2021: decoy
        if j == 4:
            programme(iso3, "FL+CL", (2022, 2025), j)  # starts after 2021: decoy

    # Countries that must not count at all.
    z = take("Z", 8)
    events += [
        (z[0], 2020, "observation", "C029"), (z[0], 2020, "cas", "C029"),  # before window
        (z[1], 2024, "observation", "C138"), (z[1], 2024, "cas", "C182"),  # after window
        (z[2], 2022, "direct_request", "C029"), (z[2], 2022, "direct_request", "C182"),
        (z[3], 2022, "observation", "C087"), (z[3], 2023, "cas", "C098"),  # other conventions
        (z[4], 2021, "ratification", "C029"), (z[4], 2022, "ratification", "C138"),
        (z[5], 2018, "ta_request", "C029"), (z[5], 2018, "ta_request", "C138"),  # TA before
        (z[6], 2020, "ta_request", "P029"), (z[6], 2024, "ta_request", "C182"),
        (z[7], 2021, "ta_request", "C087"), (z[7], 2022, "tip_watchlist", ""),
    ]
    programme(z[7], "FL+CL", (2020, 2026), 5)  # programme in a country with no signal
    return blocks, events, progs


def to_csv(header: str, rows: list[tuple]) -> str:
    """CSV text with a header row and Unix line ends."""
    buf = io.StringIO()
    buf.write(header + "\n")
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def csv_texts() -> tuple[str, str]:
    """(events.csv, programmes.csv) contents of the scenario."""
    _, events, progs = build()
    return (to_csv("iso3,year,event,instrument", events),
            to_csv("iso3,programme_id,start_year,end_year,focus,acceleration_factors", progs))


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    ev, pr = csv_texts()
    (out / "events.csv").write_text(ev, encoding="utf-8")
    (out / "programmes.csv").write_text(pr, encoding="utf-8")
