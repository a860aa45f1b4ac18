"""The HTML report: the seed's sentences, a table, the coverage matrix, escaping."""

from __future__ import annotations

import re
from pathlib import Path

from riskmodel.targeting import assess, build_targeting, load_inputs, render_html, summarize
from riskmodel.targeting.inputs import ACCELERATION_FACTORS, Event, Programme

DATA = Path(__file__).parent / "data" / "targeting"


def test_scenario_sentences_match_the_published_summary() -> None:
    events, programmes = load_inputs(DATA / "events.csv", DATA / "programmes.csv")
    html = build_targeting(events, programmes, (2021, 2023)).html
    assert ("Between 2021 and 2023, 79 countries received observations from the Committee "
            "of Experts on forced labour (C029/C105); 6 went before the Conference Committee "
            "(CAS); 37 have FPRW programming, 26 of them focused on forced labour; 42 have "
            "no Fundamentals programming and 53 no programming focused on forced labour."
            ) in html
    assert ("Between 2021 and 2023, 103 countries received observations from the Committee "
            "of Experts on child labour (C138/C182); 7 went before") in html
    assert "63 no programming focused on child labour." in html
    one_year = build_targeting(events, programmes, (2021, 2021)).html
    assert ("In 2021, 32 countries requested technical assistance on the Forced Labour "
            "Protocol (P029): 2 of them with observations or CAS cases, 3 on the TIP Watch "
            "List; 18 have programming (10 focused on forced labour), 14 have none.") in one_year
    ta = build_targeting(events, programmes, (2019, 2023)).html
    assert ("4 countries requested technical assistance on forced labour (C029/C105): 3 of "
            "them with observations or CAS cases, 3 on the TIP Watch List; none has "
            "programming.") in ta


def test_page_is_self_contained_with_table_and_matrix() -> None:
    events, programmes = load_inputs(DATA / "events.csv", DATA / "programmes.csv")
    html = build_targeting(events, programmes, (2021, 2023)).html
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script|<link|src=|https?://", html)
    assert "<th>Countries with observations</th>" in html
    assert '<td class="gap">gap</td>' in html and '<td class="cov">' in html


def test_matrix_marks_gaps_and_counts_them() -> None:
    events = [Event("XAB", 2022, "observation", "C029"),
              Event("XAC", 2022, "ta_request", "C138")]
    programmes = [Programme("XAB", "P1", 2020, 2022, "FL", frozenset({"knowledge"})),
                  Programme("XAB", "P2", 2022, 2025, "FPRW", frozenset({"knowledge",
                                                                        "financing"}))]
    assessment = assess(events, programmes, (2021, 2023))
    html = render_html(assessment, summarize(events, programmes, (2021, 2023)))
    row_b = re.search(r"<tr><th>XAB</th>(.*?)</tr>", html).group(1)
    cells = re.findall(r'<td class="(gap|cov)">([^<]*)</td>', row_b)
    expected = {"knowledge": ("cov", "P1, P2"), "financing": ("cov", "P2")}
    assert cells == [expected.get(f, ("gap", "gap")) for f in ACCELERATION_FACTORS]
    row_c = re.search(r"<tr><th>XAC</th>(.*?)</tr>", html).group(1)
    assert row_c.count('class="gap"') == 6  # TA request, no programme: all six are gaps
    assert ("2 of 2 countries have at least one acceleration factor that no active programme "
            "covers; the least covered is political commitment (a gap in 2 countries)") in html


def test_text_from_data_is_escaped() -> None:
    evil = "<b>&x"
    programmes = [Programme("XAB", evil, 2020, 2022, "FL", frozenset({"knowledge"}))]
    events = [Event("XAB", 2022, "observation", "C029")]
    html = render_html(assess(events, programmes, (2021, 2023)),
                       summarize(events, programmes, (2021, 2023)),
                       note="synthetic <world> & not evidence")
    assert evil not in html
    assert "&lt;b&gt;&amp;x" in html
    assert "synthetic &lt;world&gt; &amp; not evidence" in html


def test_singular_and_empty_sentences() -> None:
    events = [Event("XAB", 2022, "observation", "C029")]
    html = render_html(assess(events, [], (2022, 2022)), summarize(events, [], (2022, 2022)))
    assert ("In 2022, 1 country received observations from the Committee of Experts on "
            "forced labour (C029/C105); 0 went before the Conference Committee (CAS); 0 have "
            "FPRW programming, 0 of them focused on forced labour; 1 has no Fundamentals "
            "programming") in html
    assert "In 2022, no country requested technical assistance on child labour" in html
