"""An impact report as a PDF, a CSV and an XLSX workbook.

Each renders an ImpactReport as it is: small groups arrive merged into "Other", a SMALL count
stays "<5" in every cell and chart, and a suppressed claim amount is shown as a dash. A report
across regions renders its national total, then each region's own figures (the PDF a section
per region, the CSV a `region` column, the workbook the sheets Regions and Region breakdowns).
Spreadsheet cells go through safe_cell, so a company name or label that starts like a formula
stays text.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from portal.exports import csv_bytes, safe_cell
from portal.i18n import current_locale, long_date, rupiah
from portal.pdf import BOLD, FONT, ArchivalDocument, ArchivalTable, page_footer, stylesheet
from portal.reports.charts import (
    PRIMARY,
    bar_chart_drawing,
    month_chart_drawing,
    month_namer,
    number_formatter,
)
from portal.reports.figures import SMALL, Breakdown, ClaimRow, ImpactReport, Shown

AUTHOR = "PIJAR SEMAR · Pemerintah Kota Semarang"
NO_AMOUNT = "—"  # a claim amount hidden with its count
MARGIN = 18 * mm
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def count_text(value: Shown, fmt: Callable[[int], str]) -> str:
    """A count as text: SMALL for any hidden count, else the grouped number."""
    return fmt(value) if isinstance(value, int) else SMALL


def count_cell(value: Shown) -> Shown:
    """A count as a spreadsheet cell: the number, or the text SMALL."""
    return value if isinstance(value, int) else SMALL


def amount_cell(claim: ClaimRow) -> int | str:
    return NO_AMOUNT if claim.amount is None else claim.amount


def _period(report: ImpactReport, name: Callable[[date], str]) -> str:
    first, last = name(report.first_month), name(report.last_month)
    return first if first == last else f"{first} – {last}"


def small_note() -> str:
    """What "<5" means (the same sentence as on the report page)."""
    return _(
        'Groups of fewer than 5 workers are combined into "Other" so that no worker can be '
        'recognised; while "Other" could still give a group away, the next smallest group '
        "joins it. %(small)s stands for a count under 5 that cannot be combined.",
        small=f'"{SMALL}"',
    )


def _scope(report: ImpactReport) -> str:
    if report.scope == "pledge" and report.pledge_id is not None:
        return _("Pledge #%(id)s", id=report.pledge_id)
    return _("All pledges in the period")


# --- PDF ------------------------------------------------------------------------------------


def pdf_styles() -> dict[str, ParagraphStyle]:
    base = stylesheet()
    green = colors.HexColor(PRIMARY)
    return {
        "title": ParagraphStyle(
            "ReportTitle",
            parent=base["Title"],
            fontSize=18,
            leading=22,
            alignment=0,
            textColor=green,
            spaceAfter=4,
        ),
        "company": ParagraphStyle(
            "Company", parent=base["Heading2"], fontSize=14, spaceBefore=0, spaceAfter=2
        ),
        "h2": ParagraphStyle(
            "Section",
            parent=base["Heading2"],
            fontSize=12.5,
            textColor=green,
            spaceBefore=12,
            spaceAfter=6,
        ),
        "body": ParagraphStyle("Body", parent=base["BodyText"], fontSize=9.5, leading=12),
        "cell": ParagraphStyle("Cell", parent=base["BodyText"], fontSize=9, leading=11),
        "num": ParagraphStyle(
            "Num", parent=base["BodyText"], fontSize=9, leading=11, alignment=TA_RIGHT
        ),
        "note": ParagraphStyle(
            "Note",
            parent=base["BodyText"],
            fontSize=8,
            leading=10,
            textColor=colors.HexColor("#52606d"),
            spaceBefore=10,
        ),
    }


def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped: names and labels are data, not markup)."""
    return Paragraph(html.escape(text, quote=False), style)


def striped_table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float], numeric_from: int
) -> Table:
    """A striped table; columns from numeric_from on are right-aligned."""
    table = ArchivalTable([list(header), *rows], colWidths=list(widths), repeatRows=1)
    style = [
        ("FONT", (0, 0), (-1, 0), BOLD, 9),
        ("FONT", (0, 1), (-1, -1), FONT, 9),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(PRIMARY)),
        ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cbd2d9")),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    style += [
        ("BACKGROUND", (0, r), (-1, r), colors.HexColor("#f3f7f6"))
        for r in range(2, len(rows) + 1, 2)
    ]
    table.setStyle(TableStyle(style))
    table.hAlign = "LEFT"
    return table


def _headline(report: ImpactReport, fmt: Callable[[int], str], width: float) -> Table:
    money = report.money
    rows = [
        (_("Workers covered"), count_text(report.workers_covered, fmt)),
        (_("Worker-months delivered"), count_text(report.worker_months_delivered, fmt)),
        (_("Worker-months paid for"), fmt(report.worker_months_paid)),
        (_("Paid"), rupiah(money.paid)),
        (_("Used by closed months"), rupiah(money.used)),
        (_("Refunded"), rupiah(money.refunded)),
        (_("Remaining (prepaid)"), rupiah(money.remaining)),
    ]
    return striped_table((_("Figure"), _("Value")), rows, (width * 0.6, width * 0.4), 1)


def report_pdf(report: ImpactReport) -> bytes:
    """An A4 report: headline figures, every breakdown as a table and a chart, the months,
    the claims and (when there are at least 5 workers) the pseudonyms."""
    fmt = number_formatter()
    wide = month_namer("wide")
    styles = pdf_styles()
    buffer = io.BytesIO()
    doc = ArchivalDocument(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=f"{report.title} · {report.company_name}",
        author=AUTHOR,
        subject=_(
            "Impact report of %(company)s, %(period)s",
            company=report.company_name,
            period=_period(report, wide),
        ),
        creator="PIJAR SEMAR",
        lang=current_locale(),
    )
    footer = page_footer(
        _(
            "PIJAR SEMAR impact report · %(company)s · generated %(date)s",
            company=report.company_name,
            date=long_date(report.generated_on),
        )
    )
    width = doc.width
    story: list[Flowable] = [
        paragraph(report.title, styles["title"]),
        paragraph(report.company_name, styles["company"]),
        paragraph(f"{_scope(report)} · {_period(report, wide)}", styles["body"]),
        paragraph(_("Generated on %(date)s", date=long_date(report.generated_on)), styles["body"]),
        Spacer(1, 8),
        *region_table(report, styles, fmt, width),
        _headline(report, fmt, width * 0.7),
    ]
    if report.renewal:
        story += [Spacer(1, 6), paragraph(report.renewal, styles["body"])]
    if report.monthly:
        story.append(
            KeepTogether(
                [
                    paragraph(_("Workers covered per month"), styles["h2"]),
                    month_chart_drawing(report.monthly, title="", width=width),
                ]
            )
        )
    for breakdown in report.breakdowns:
        parts = _breakdown_flowables(breakdown, styles["h2"], styles, fmt, width)
        if breakdown.rows:
            parts += [Spacer(1, 6), bar_chart_drawing(breakdown.rows, title="", width=width)]
        story.append(KeepTogether(parts))
    story += _claims(report, styles, fmt, width)
    story += stories_flowables(report, styles)
    story += _pseudonyms(report, styles, wide, width)
    story += region_flowables(report, styles, fmt, width)
    hidden_amount = _("A hidden claim amount is shown as %(dash)s.", dash=NO_AMOUNT)
    story.append(paragraph(f"{small_note()} {hidden_amount}", styles["note"]))
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _breakdown_flowables(
    breakdown: Breakdown,
    heading: ParagraphStyle,
    styles: dict[str, ParagraphStyle],
    fmt: Callable[[int], str],
    width: float,
) -> list[Flowable]:
    rows = [
        (
            paragraph(row.label, styles["cell"]),
            count_text(row.workers, fmt),
            count_text(row.worker_months, fmt),
        )
        for row in breakdown.rows
    ] or [(_("No workers covered yet."), "", "")]
    return [
        paragraph(breakdown.title, heading),
        striped_table(
            (_("Group"), _("Workers"), _("Worker-months")),
            rows,
            (width * 0.5, width * 0.2, width * 0.2),
            1,
        ),
    ]


def regions_note(report: ImpactReport) -> str:
    """How the total of a report across regions is added up (the same words as the page)."""
    note = _(
        "Each region's figures are kept apart, as the region's regulation reports them. The "
        'total adds up what the regions show: a group a region combines into "Other" is '
        'counted in the total\'s "Other", never in its own row, so that subtracting one region '
        "from the total gives no small group away."
    )
    if report.held_back:
        note += " " + _(
            'Some figures a region shows as "<5" are left out of the total, because adding '
            "them would let them be worked out."
        )
    return note


def region_table(
    report: ImpactReport,
    styles: dict[str, ParagraphStyle],
    fmt: Callable[[int], str],
    width: float,
) -> list[Flowable]:
    """Each region's headline figures and the total, for a report across regions."""
    if not report.regions:
        return []
    rows = [
        (
            paragraph(section.name, styles["cell"]),
            count_text(section.report.workers_covered, fmt),
            count_text(section.report.worker_months_delivered, fmt),
            rupiah(section.report.money.used),
        )
        for section in report.regions
    ]
    rows.append(
        (
            paragraph(_("All regions"), styles["cell"]),
            count_text(report.workers_covered, fmt),
            count_text(report.worker_months_delivered, fmt),
            rupiah(report.money.used),
        )
    )
    return [
        paragraph(_("By region"), styles["h2"]),
        striped_table(
            (_("Region"), _("Workers covered"), _("Worker-months delivered"), _("Money used")),
            rows,
            (width * 0.34, width * 0.2, width * 0.24, width * 0.22),
            1,
        ),
        paragraph(regions_note(report), styles["note"]),
        paragraph(_("All regions together"), styles["h2"]),
    ]


def region_flowables(
    report: ImpactReport,
    styles: dict[str, ParagraphStyle],
    fmt: Callable[[int], str],
    width: float,
) -> list[Flowable]:
    """A section per region: its regulation, headline figures, breakdowns and claims."""
    story: list[Flowable] = []
    for section in report.regions:
        own = section.report
        story += [
            paragraph(section.name, styles["h2"]),
            paragraph(
                _("Under %(regulation)s", regulation=section.regulation or "—"), styles["body"]
            ),
            Spacer(1, 4),
            _headline(own, fmt, width * 0.7),
        ]
        for breakdown in own.breakdowns:
            story.append(
                KeepTogether(_breakdown_flowables(breakdown, styles["body"], styles, fmt, width))
            )
        story += _claims(own, styles, fmt, width)
    return story


def _claims(
    report: ImpactReport, styles: dict[str, ParagraphStyle], fmt: Callable[[int], str], width: float
) -> list[Flowable]:
    heading = paragraph(_("Benefit claims"), styles["h2"])
    if not report.claims:
        return [heading, paragraph(_("No benefit claims in this period."), styles["body"])]
    rows = [
        (
            paragraph(claim.label, styles["cell"]),
            count_text(claim.claims, fmt),
            NO_AMOUNT if claim.amount is None else rupiah(claim.amount),
        )
        for claim in report.claims
    ]
    return [
        KeepTogether(
            [
                heading,
                striped_table(
                    (_("Benefit"), _("Claims"), _("Amount")),
                    rows,
                    (width * 0.5, width * 0.2, width * 0.3),
                    1,
                ),
            ]
        )
    ]


def stories_flowables(report: ImpactReport, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The approved claim stories, each with its benefit and year."""
    if not report.stories:
        return []
    parts: list[Flowable] = [
        paragraph(_("Stories from covered workers"), styles["h2"]),
        paragraph(
            _(
                "Written and approved by Disnaker staff, without names or other details that "
                "could identify the worker."
            ),
            styles["body"],
        ),
    ]
    for story in report.stories:
        parts += [
            Spacer(1, 4),
            paragraph(story.text, styles["body"]),
            paragraph(f"{story.label} · {story.year}", styles["cell"]),
        ]
    return parts


def _pseudonyms(
    report: ImpactReport,
    styles: dict[str, ParagraphStyle],
    name: Callable[[date], str],
    width: float,
) -> list[Flowable]:
    if not report.pseudonyms:
        return []
    rows = [
        (row.pseudonym, str(row.months), f"{name(row.first_month)} – {name(row.last_month)}")
        for row in report.pseudonyms
    ]
    return [
        paragraph(_("Covered workers"), styles["h2"]),
        paragraph(
            _(
                "Each worker appears only under a pseudonym that stays the same in all your "
                "reports."
            ),
            styles["body"],
        ),
        Spacer(1, 4),
        striped_table(
            (_("Pseudonym"), _("Months"), _("Covered")),
            rows,
            (width * 0.35, width * 0.15, width * 0.5),
            1,
        ),
    ]


# --- CSV and XLSX -----------------------------------------------------------------------------


def _month_key(value: date) -> str:
    return f"{value:%Y-%m}"


def _summary(report: ImpactReport) -> list[tuple[str, str, Any]]:
    """(key, label, value) of the report's headline facts, as spreadsheet values."""
    money = report.money
    return [
        ("title", _("Report"), report.title),
        ("company", _("Company"), report.company_name),
        ("pledge", _("Pledge"), report.pledge_id if report.pledge_id is not None else ""),
        ("first_month", _("First month"), _month_key(report.first_month)),
        ("last_month", _("Last month"), _month_key(report.last_month)),
        ("generated_on", _("Generated on"), report.generated_on.isoformat()),
        ("workers_covered", _("Workers covered"), count_cell(report.workers_covered)),
        (
            "worker_months_delivered",
            _("Worker-months delivered"),
            count_cell(report.worker_months_delivered),
        ),
        ("worker_months_paid", _("Worker-months paid for"), report.worker_months_paid),
        ("money_paid", _("Paid (Rp)"), money.paid),
        ("money_used", _("Used by closed months (Rp)"), money.used),
        ("money_refunded", _("Refunded (Rp)"), money.refunded),
        ("money_remaining", _("Remaining (Rp)"), money.remaining),
        ("renewal", _("Renewal"), report.renewal),
        ("note", _("Note"), small_note()),
    ]


CSV_HEADER = (
    "section",
    "key",
    "label",
    "value",
    "workers",
    "worker_months",
    "claims",
    "amount",
    "first_month",
    "last_month",
)


def report_csv(report: ImpactReport) -> bytes:
    """One CSV (UTF-8 with BOM) with a section column: summary, each breakdown, monthly,
    claims, stories (the year in first_month), pseudonyms. Months are YYYY-MM, money whole
    rupiah. A report across regions adds a last column, region: empty on the national total's
    rows, the region's code on its own (summary, breakdowns, monthly and claims)."""
    if not report.regions:
        return csv_bytes(CSV_HEADER, _csv_rows(report))
    rows = [(*row, "") for row in _csv_rows(report)]
    for section in report.regions:
        own = [
            ("summary", "region", _("Region"), section.name, "", "", "", "", "", ""),
            ("summary", "regulation", _("Regulation"), section.regulation, "", "", "", "", "", ""),
            *_csv_rows(section.report, detail=False),
        ]
        rows += [(*row, section.code) for row in own]
    return csv_bytes((*CSV_HEADER, "region"), rows)


def _csv_rows(report: ImpactReport, detail: bool = True) -> list[tuple[Any, ...]]:
    """The rows of a report; without `detail`, no stories and no pseudonyms (a region's
    section: the national total lists them)."""
    rows: list[tuple[Any, ...]] = [
        ("summary", key, label, value, "", "", "", "", "", "")
        for key, label, value in _summary(report)
    ]
    for breakdown in report.breakdowns:
        rows += [
            (
                breakdown.name,
                row.key,
                row.label,
                "",
                count_cell(row.workers),
                count_cell(row.worker_months),
                "",
                "",
                "",
                "",
            )
            for row in breakdown.rows
        ]
    wide = month_namer("wide")
    rows += [
        (
            "monthly",
            _month_key(point.month),
            wide(point.month),
            "",
            count_cell(point.workers),
            "",
            "",
            "",
            "",
            "",
        )
        for point in report.monthly
    ]
    rows += [
        (
            "claims",
            claim.kind,
            claim.label,
            "",
            "",
            "",
            count_cell(claim.claims),
            amount_cell(claim),
            "",
            "",
        )
        for claim in report.claims
    ]
    if not detail:
        return rows
    rows += [
        ("stories", story.kind, story.label, story.text, "", "", "", "", story.year, "")
        for story in report.stories
    ]
    rows += [
        (
            "pseudonyms",
            row.pseudonym,
            "",
            "",
            "",
            row.months,
            "",
            "",
            _month_key(row.first_month),
            _month_key(row.last_month),
        )
        for row in report.pseudonyms
    ]
    return rows


def add_sheet(
    book: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    sheet = book.create_sheet(title=title.translate(_SHEET_FORBIDDEN).strip()[:31] or "Sheet")
    sheet.append([safe_cell(value) for value in header])
    for row in rows:
        sheet.append([safe_cell(value) for value in row])


def report_xlsx(report: ImpactReport) -> bytes:
    """A workbook with the sheets Summary, Breakdowns, Monthly, Claims, Stories and
    Pseudonyms."""
    book = Workbook(write_only=True)
    add_sheet(book, _("Summary"), (_("Key"), _("Item"), _("Value")), _summary(report))
    add_sheet(
        book,
        _("Breakdowns"),
        (_("Breakdown"), _("Key"), _("Group"), _("Workers"), _("Worker-months")),
        (
            (
                breakdown.title,
                row.key,
                row.label,
                count_cell(row.workers),
                count_cell(row.worker_months),
            )
            for breakdown in report.breakdowns
            for row in breakdown.rows
        ),
    )
    wide = month_namer("wide")
    add_sheet(
        book,
        _("Monthly"),
        (_("Month"), _("Month name"), _("Workers")),
        ((_month_key(p.month), wide(p.month), count_cell(p.workers)) for p in report.monthly),
    )
    add_sheet(
        book,
        _("Claims"),
        (_("Kind"), _("Benefit"), _("Claims"), _("Amount (Rp)")),
        ((c.kind, c.label, count_cell(c.claims), amount_cell(c)) for c in report.claims),
    )
    add_sheet(
        book,
        _("Stories"),
        (_("Kind"), _("Benefit"), _("Year"), _("Story")),
        ((r.kind, r.label, r.year, r.text) for r in report.stories),
    )
    add_sheet(
        book,
        _("Pseudonyms"),
        (_("Pseudonym"), _("Months"), _("First month"), _("Last month")),
        (
            (r.pseudonym, r.months, _month_key(r.first_month), _month_key(r.last_month))
            for r in report.pseudonyms
        ),
    )
    if report.regions:
        add_region_sheets(book, report)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def add_region_sheets(book: Workbook, report: ImpactReport) -> None:
    """The sheets of a report across regions: Regions (each region's headline figures and
    the total), Region breakdowns and Region claims."""
    add_sheet(
        book,
        _("Regions"),
        (
            _("Code"),
            _("Region"),
            _("Regulation"),
            _("Workers covered"),
            _("Worker-months delivered"),
            _("Worker-months paid for"),
            _("Used by closed months (Rp)"),
        ),
        [
            *(
                (
                    section.code,
                    section.name,
                    section.regulation,
                    count_cell(section.report.workers_covered),
                    count_cell(section.report.worker_months_delivered),
                    section.report.worker_months_paid,
                    section.report.money.used,
                )
                for section in report.regions
            ),
            (
                "",
                _("All regions"),
                regions_note(report),
                count_cell(report.workers_covered),
                count_cell(report.worker_months_delivered),
                report.worker_months_paid,
                report.money.used,
            ),
        ],
    )
    add_sheet(
        book,
        _("Region breakdowns"),
        (
            _("Code"),
            _("Region"),
            _("Breakdown"),
            _("Key"),
            _("Group"),
            _("Workers"),
            _("Worker-months"),
        ),
        (
            (
                section.code,
                section.name,
                breakdown.title,
                row.key,
                row.label,
                count_cell(row.workers),
                count_cell(row.worker_months),
            )
            for section in report.regions
            for breakdown in section.report.breakdowns
            for row in breakdown.rows
        ),
    )
    add_sheet(
        book,
        _("Region claims"),
        (_("Code"), _("Region"), _("Kind"), _("Benefit"), _("Claims"), _("Amount (Rp)")),
        (
            (section.code, section.name, c.kind, c.label, count_cell(c.claims), amount_cell(c))
            for section in report.regions
            for c in section.report.claims
        ),
    )
