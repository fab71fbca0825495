"""Charts, PDF, CSV and XLSX of an impact report: SMALL stays "<5", text stays text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest
from defusedxml import ElementTree
from flask import Flask
from openpyxl import load_workbook
from pypdf import PdfReader

from portal.reports import charts, documents
from portal.reports.figures import (
    SMALL,
    Breakdown,
    ClaimRow,
    ImpactReport,
    Money,
    MonthPoint,
    PseudonymRow,
    Row,
    StoryRow,
)

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '=HYPERLINK("http://x","y")'


def build_report(company: str = "PT Maju Bersama") -> ImpactReport:
    """A report as services would hand it over: small groups already SMALL."""
    months = [date(2025, m, 1) for m in range(1, 7)]
    return ImpactReport(
        scope="pledge",
        title="Impact report",
        company_name=company,
        pledge_id=7,
        first_month=months[0],
        last_month=months[-1],
        generated_on=date(2025, 7, 2),
        workers_covered=42,
        worker_months_delivered=230,
        worker_months_paid=252,
        breakdowns=(
            Breakdown(
                "category",
                "By category",
                (
                    Row("pkl", "Street vendors", 30, 170),
                    Row("ojek", "Motorbike taxi <script>alert(1)</script>", 8, 40),
                    Row("nelayan", "Fishers", SMALL, SMALL),
                    Row("pemulung", "=cmd|' /C calc'!A0", SMALL, SMALL),
                ),
            ),
            Breakdown(
                "sex",
                "By sex",
                (
                    Row("L", "Male", 25, 140),
                    Row("P", "Female", 17, 90),
                ),
            ),
        ),
        monthly=(
            MonthPoint(months[0], SMALL),
            *(MonthPoint(m, 40 + i) for i, m in enumerate(months[1:])),
        ),
        claims=(
            ClaimRow("jkk", "JKK (work accident)", 6, 12_500_000),
            ClaimRow("jkm", "JKM (death)", SMALL, None),
        ),
        money=Money(paid=4_233_600, used=3_864_000, refunded=0),
        renewal="Renew before 1 July 2025 to keep these workers covered.",
        pseudonyms=(
            PseudonymRow("W-7F3KQ", 6, months[0], months[-1]),
            PseudonymRow("W-2B9XZ", 3, months[3], months[-1]),
        ),
        stories=(
            StoryRow("jkk", "JKK (work accident)", 2025, "A fisher hurt at sea was treated free."),
            StoryRow("jkm", "JKM (death)", 2025, "=SUM(A1) <b>not markup</b>"),
        ),
    )


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """A request in English, as the views call the renderers (its own app context, so the
    locale cached on `g` does not leak into other tests)."""
    with app.app_context(), app.test_request_context(headers={"Cookie": "lang=en"}):
        yield


def rects(svg: str, cls: str) -> list[dict[str, str]]:
    return [
        dict(e.attrib)
        for e in ElementTree.fromstring(svg).iter(f"{SVG}rect")
        if e.get("class") == cls
    ]


def texts(svg: str) -> list[str]:
    return [e.text or "" for e in ElementTree.fromstring(svg).iter(f"{SVG}text")]


# --- charts -----------------------------------------------------------------------------------


def test_geometry_scales_to_the_largest_shown_value_and_gives_small_no_length(ctx: None) -> None:
    report = build_report()
    bars = charts.bar_geometry(report.breakdown("category").rows)
    assert [b.length for b in bars] == [1.0, 8 / 30, 0.0, 0.0]
    assert [b.suppressed for b in bars] == [False, False, True, True]
    assert [b.text for b in bars[2:]] == [SMALL, SMALL]


def test_bar_chart_draws_small_rows_as_identical_labelled_stubs(ctx: None) -> None:
    svg = str(
        charts.bar_chart_svg(build_report().breakdown("category").rows, title="Workers by category")
    )
    stubs = rects(svg, "small")
    assert len(stubs) == 2
    assert len({(s["width"], s["height"]) for s in stubs}) == 1
    assert "&lt;5" in svg and "<5<" not in svg
    assert texts(svg).count(SMALL) == 2
    bars = rects(svg, "bar")
    assert float(bars[0]["width"]) > float(bars[1]["width"]) > 0
    assert 'role="img"' in svg and 'width="100%"' in svg and "viewBox=" in svg
    assert "<title>Workers by category</title>" in svg


def test_stub_is_the_same_whatever_the_other_values(ctx: None) -> None:
    small = str(charts.bar_chart_svg([Row("a", "A", 6, 6), Row("b", "B", SMALL, SMALL)], title="t"))
    large = str(
        charts.bar_chart_svg([Row("a", "A", 9000, 9000), Row("b", "B", SMALL, SMALL)], title="t")
    )
    assert rects(small, "small") == rects(large, "small")


def test_chart_labels_are_escaped(ctx: None) -> None:
    svg = str(charts.bar_chart_svg(build_report().breakdown("category").rows, title="<b>Title</b>"))
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&lt;b&gt;Title&lt;/b&gt;" in svg
    ElementTree.fromstring(svg)  # still well-formed


def test_every_value_is_text_in_the_chart_and_its_description(ctx: None) -> None:
    rows = build_report().breakdown("category").rows
    svg = str(charts.bar_chart_svg(rows, title="Worker-months", value="worker_months"))
    assert {"170", "40", SMALL} <= set(texts(svg))
    desc = ElementTree.fromstring(svg).find(f"{SVG}desc")
    assert desc is not None and "Street vendors: 170" in (desc.text or "")
    assert "Fishers: <5" in (desc.text or "")


def test_month_chart_has_a_column_per_month_and_a_stub_for_small(ctx: None) -> None:
    svg = str(charts.month_chart_svg(build_report().monthly, title="Workers per month"))
    assert len(rects(svg, "bar")) == 5
    assert len(rects(svg, "small")) == 1
    assert {SMALL, "40", "44", "Jan", "Jun", "2025"} <= set(texts(svg))
    heights = [float(r["height"]) for r in rects(svg, "bar")]
    assert heights == sorted(heights)


def test_crowded_months_still_show_every_value(ctx: None) -> None:
    points = [MonthPoint(date(2023 + i // 12, i % 12 + 1, 1), 10_000 + i) for i in range(36)]
    svg = str(charts.month_chart_svg(points, title="Three years"))
    assert all(f"10,0{i:02d}" in texts(svg) for i in range(36))


def test_series_chart_stacks_named_series(ctx: None) -> None:
    months = [date(2025, 1, 1), date(2025, 2, 1)]
    svg = str(
        charts.series_chart_svg(
            months, [("APBD", [10, 12]), ("PT <Evil> & Co", [5, 0])], title="Coverage by funder"
        )
    )
    assert "PT &lt;Evil&gt; &amp; Co" in svg
    assert len(rects(svg, "bar")) == 2 + 3  # two legend swatches, three non-empty segments
    assert {"15", "12"} <= set(texts(svg))


def test_empty_charts_say_so(ctx: None) -> None:
    assert "No data" in str(charts.bar_chart_svg([], title="Nothing"))
    assert "No data" in str(charts.month_chart_svg([], title="Nothing"))


def test_indonesian_numbers_and_months(app: Flask) -> None:
    with app.app_context(), app.test_request_context(headers={"Cookie": "lang=id"}):
        svg = str(charts.month_chart_svg([MonthPoint(date(2025, 5, 1), 1234)], title="x"))
    assert {"1.234", "Mei"} <= set(texts(svg))


def test_drawings_for_the_pdf(ctx: None) -> None:
    rows = build_report().breakdown("category").rows
    drawing = charts.bar_chart_drawing(rows, title="", width=400)
    assert drawing.width == 400 and drawing.height > 0
    assert charts.month_chart_drawing(build_report().monthly, title="t", width=300).width == 300


# --- documents ----------------------------------------------------------------------------


def test_pdf_states_the_report_with_small_groups_hidden(ctx: None) -> None:
    data = documents.report_pdf(build_report(company=EVIL))
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert EVIL in text
    assert SMALL in text
    assert "W-7F3KQ" in text and "W-2B9XZ" in text
    assert "Street vendors" in text and "<script>" in text  # a label, printed as text
    assert "Rp12,500,000" in text and "Rp4,233,600" in text
    assert reader.metadata is not None and EVIL in str(reader.metadata.title)


def test_pdf_without_pseudonyms_or_claims(ctx: None) -> None:
    report = build_report()
    bare = replace(
        report, pseudonyms=(), claims=(), workers_covered=SMALL, worker_months_delivered=SMALL
    )
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(documents.report_pdf(bare))).pages
    )
    assert "W-7F3KQ" not in text and "No benefit claims" in text


def csv_rows(report: ImpactReport) -> list[dict[str, str]]:
    data = documents.report_csv(report)
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_keeps_small_as_text_and_escapes_formulas(ctx: None) -> None:
    rows = csv_rows(build_report(company=EVIL))
    company = next(r for r in rows if r["section"] == "summary" and r["key"] == "company")
    assert company["value"] == "'" + EVIL
    fishers = next(r for r in rows if r["key"] == "nelayan")
    assert (fishers["workers"], fishers["worker_months"]) == (SMALL, SMALL)
    formula = next(r for r in rows if r["key"] == "pemulung")
    assert formula["label"].startswith("'=")
    january = next(r for r in rows if r["section"] == "monthly" and r["key"] == "2025-01")
    assert january["workers"] == SMALL
    jkm = next(r for r in rows if r["section"] == "claims" and r["key"] == "jkm")
    assert jkm["claims"] == SMALL and jkm["amount"] == documents.NO_AMOUNT
    jkk = next(r for r in rows if r["section"] == "claims" and r["key"] == "jkk")
    assert (jkk["claims"], jkk["amount"]) == ("6", "12500000")
    assert [r["key"] for r in rows if r["section"] == "pseudonyms"] == ["W-7F3KQ", "W-2B9XZ"]


def test_xlsx_sheets_keep_small_as_text_and_escape_formulas(ctx: None) -> None:
    book = load_workbook(
        io.BytesIO(documents.report_xlsx(build_report(company=EVIL))), read_only=True
    )
    assert book.sheetnames == [
        "Summary",
        "Breakdowns",
        "Monthly",
        "Claims",
        "Stories",
        "Pseudonyms",
    ]
    summary = {row[0]: row[2] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["company"] == "'" + EVIL
    assert summary["workers_covered"] == 42
    breakdowns = list(book["Breakdowns"].iter_rows(values_only=True))
    for key in ("nelayan", "pemulung"):
        row = next(r for r in breakdowns if r[1] == key)
        assert row[3:] == (SMALL, SMALL)
        assert not any(isinstance(cell, int) for cell in row)  # no count hides in the row
    assert next(r for r in breakdowns if r[1] == "pemulung")[2].startswith("'=")
    assert next(r for r in breakdowns if r[1] == "pkl")[3:] == (30, 170)
    monthly = list(book["Monthly"].iter_rows(values_only=True))
    assert monthly[1] == ("2025-01", "January 2025", SMALL)
    claims = {r[0]: r for r in book["Claims"].iter_rows(values_only=True)}
    assert claims["jkm"][2:] == (SMALL, documents.NO_AMOUNT)
    assert claims["jkk"][2:] == (6, 12_500_000)
    pseudonyms = list(book["Pseudonyms"].iter_rows(values_only=True))
    assert pseudonyms[1] == ("W-7F3KQ", 6, "2025-01", "2025-06")
    stories = list(book["Stories"].iter_rows(values_only=True))
    assert stories[1] == (
        "jkk",
        "JKK (work accident)",
        2025,
        "A fisher hurt at sea was treated free.",
    )
    assert stories[2][3] == "'=SUM(A1) <b>not markup</b>"
    book.close()


def test_pdf_and_csv_carry_the_approved_stories(ctx: None) -> None:
    report = build_report()
    reader = PdfReader(io.BytesIO(documents.report_pdf(report)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Stories from covered workers" in text
    assert "A fisher hurt at sea was treated free." in text and "<b>not markup</b>" in text
    assert "JKM (death) · 2025" in text
    rows = [r for r in csv_rows(report) if r["section"] == "stories"]
    assert [r["value"] for r in rows] == [
        "A fisher hurt at sea was treated free.",
        "'=SUM(A1) <b>not markup</b>",
    ]
    bare = documents.report_pdf(replace(report, stories=()))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(bare)).pages)
    assert "Stories from covered workers" not in text


def test_no_formula_cells_anywhere_in_the_workbook(ctx: None) -> None:
    book = load_workbook(io.BytesIO(documents.report_xlsx(build_report(company=EVIL))))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)
