"""The TJSL / sustainability export of a year (XLSX and PDF) and the statement of CSR spending.

The export renders a TjslYear: its beneficiaries, months and claims are its period report's,
so they carry the same suppression ("Other", "<5") as every other report output; a year in
several regions adds each region's plan, realised amount and beneficiaries beside the total.
Cells go through safe_cell. Nothing here calls the contribution deductible: PP 93/2010 does
not list it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Spacer,
    Table,
    TableStyle,
)

from portal.i18n import current_locale, long_date, month_label, rupiah
from portal.pdf import BOLD, FONT, ArchivalDocument, ArchivalTable, page_footer
from portal.regions.models import SEMARANG
from portal.reports.charts import PRIMARY, month_namer, number_formatter
from portal.reports.documents import (
    AUTHOR,
    MARGIN,
    NO_AMOUNT,
    add_region_sheets,
    add_sheet,
    amount_cell,
    count_cell,
    count_text,
    paragraph,
    pdf_styles,
    region_flowables,
    regions_note,
    small_note,
    stories_flowables,
    striped_table,
)
from portal.reports.models import TjslStatement
from portal.reports.queries import RegionName
from portal.reports.tjsl import (
    PROGRAMME,
    REGULATION,
    Note,
    TjslYear,
    benefits_note,
    legal_basis,
    method_notes,
    sdg_targets,
)

ISSUER = "Portal Mitra PIJAR SEMAR — Dinas Tenaga Kerja Kota Semarang"


def _title(figures: TjslYear) -> str:
    return _("TJSL and sustainability report %(year)s", year=figures.year)


def _method(figures: TjslYear) -> list[Note]:
    return [*method_notes(figures), Note("small_groups", _("Small groups"), small_note())]


def _summary(figures: TjslYear) -> list[tuple[str, str, Any]]:
    """(key, label, value): who, the legal basis, and plan against realisation."""
    report = figures.report
    through = figures.realised_through
    return [
        ("report", _("Report"), _title(figures)),
        ("company", _("Company"), figures.company_name),
        ("nib", "NIB", figures.nib),
        ("year", _("Year"), figures.year),
        ("generated_on", _("Generated on"), report.generated_on.isoformat()),
        *((note.key, note.title, note.text) for note in legal_basis(figures.regions)),
        ("plan", _("Plan (Rp)"), figures.plan),
        ("realised", _("Realised (Rp)"), figures.realised),
        ("realised_through", _("Realised through"), f"{through:%Y-%m}" if through else ""),
        ("not_realised", _("Not realised yet (Rp)"), figures.not_realised),
        ("workers_covered", _("Workers covered"), count_cell(report.workers_covered)),
        ("worker_months_paid", _("Worker-months paid for"), report.worker_months_paid),
        (
            "worker_months_delivered",
            _("Worker-months delivered"),
            count_cell(report.worker_months_delivered),
        ),
        ("pledges", _("Pledges"), ", ".join(f"#{n}" for n in figures.pledge_ids)),
        ("receipts", _("Payment receipts"), ", ".join(figures.receipts)),
    ]


# --- XLSX ---------------------------------------------------------------------------------------


def tjsl_xlsx(figures: TjslYear) -> bytes:
    """Sheets: Summary, Realised by month, Beneficiaries, Claims, SDGs, Certificates, Stories,
    Method."""
    report = figures.report
    wide = month_namer("wide")
    book = Workbook(write_only=True)
    add_sheet(book, _("Summary"), (_("Key"), _("Item"), _("Value")), _summary(figures))
    add_sheet(
        book,
        _("Realised by month"),
        (_("Month"), _("Month name"), _("Realised (Rp)")),
        ((f"{month:%Y-%m}", wide(month), amount) for month, amount in figures.realised_by_month),
    )
    add_sheet(
        book,
        _("Beneficiaries"),
        (_("Breakdown"), _("Key"), _("Group"), _("Workers"), _("Worker-months")),
        (
            (b.title, row.key, row.label, count_cell(row.workers), count_cell(row.worker_months))
            for b in report.breakdowns
            for row in b.rows
        ),
    )
    add_sheet(
        book,
        _("Claims"),
        (_("Kind"), _("Benefit"), _("Claims"), _("Amount (Rp)")),
        [
            *((c.kind, c.label, count_cell(c.claims), amount_cell(c)) for c in report.claims),
            ("note", benefits_note(), "", ""),
        ],
    )
    add_sheet(
        book,
        _("SDGs"),
        (_("Target"), _("Title"), _("How the programme serves it")),
        ((n.key, n.title, n.text) for n in sdg_targets()),
    )
    add_sheet(
        book,
        _("Certificates"),
        (_("Serial"), _("Kind"), _("Pledge"), _("Issued"), _("Status")),
        (
            (c.serial, c.kind, c.pledge_id, c.issued_on.isoformat(), _status(c.revoked))
            for c in figures.certificates
        ),
    )
    add_sheet(
        book,
        _("Stories"),
        (_("Kind"), _("Benefit"), _("Year"), _("Story")),
        ((s.kind, s.label, s.year, s.text) for s in report.stories),
    )
    add_sheet(
        book,
        _("Method"),
        (_("Key"), _("Item"), _("Note")),
        ((n.key, n.title, n.text) for n in _method(figures)),
    )
    if figures.national:
        add_sheet(
            book,
            _("Plan by region"),
            (_("Code"), _("Region"), _("Regulation"), _("Plan (Rp)"), _("Realised (Rp)")),
            [
                *((r.code, r.name, r.regulation, r.plan, r.realised) for r in figures.regions),
                ("", _("All regions"), "", figures.plan, figures.realised),
            ],
        )
    if report.regions:
        add_region_sheets(book, report)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _status(revoked: bool) -> str:
    return _("Revoked") if revoked else _("Valid")


# --- PDF ------------------------------------------------------------------------------------------


def tjsl_pdf(figures: TjslYear) -> bytes:
    """An A4 document in the order of a TJSL chapter: basis, plan and realisation,
    beneficiaries, claims, SDGs, certificates, stories, method."""
    fmt = number_formatter()
    styles = pdf_styles()
    buffer = io.BytesIO()
    doc = _document(buffer, f"{_title(figures)} · {figures.company_name}", _title(figures))
    width = doc.width
    story: list[Flowable] = [
        paragraph(_title(figures), styles["title"]),
        paragraph(figures.company_name, styles["company"]),
        paragraph(
            _("Generated on %(date)s", date=long_date(figures.report.generated_on)), styles["body"]
        ),
        paragraph(_("Legal basis and programme"), styles["h2"]),
        _notes_table(legal_basis(figures.regions), styles, width),
        *_money(figures, styles, fmt, width),
        *_beneficiaries(figures, styles, fmt, width),
        *_claims(figures, styles, fmt, width),
        *_by_region(figures, styles, fmt, width),
        paragraph(_("Sustainable Development Goals served"), styles["h2"]),
        _notes_table(sdg_targets(), styles, width),
        *_certificates(figures, styles, width),
        *stories_flowables(figures.report, styles),
        paragraph(_("Method"), styles["h2"]),
        _notes_table(_method(figures), styles, width),
    ]
    footer = page_footer(
        _(
            "PIJAR SEMAR TJSL report %(year)s · %(company)s",
            year=figures.year,
            company=figures.company_name,
        )
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _document(buffer: io.BytesIO, title: str, subject: str) -> ArchivalDocument:
    return ArchivalDocument(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=title,
        author=AUTHOR,
        subject=subject,
        creator="PIJAR SEMAR",
        lang=current_locale(),
    )


def _notes_table(notes: Sequence[Note], styles: dict[str, ParagraphStyle], width: float) -> Table:
    rows = [(paragraph(n.title, styles["cell"]), paragraph(n.text, styles["cell"])) for n in notes]
    return striped_table((_("Item"), _("Details")), rows, (width * 0.3, width * 0.7), 1)


def _money(
    figures: TjslYear,
    styles: dict[str, ParagraphStyle],
    fmt: Callable[[int], str],
    width: float,
) -> list[Flowable]:
    report = figures.report
    through = figures.realised_through
    rows = [
        (_("Plan"), rupiah(figures.plan)),
        (_("Realised"), rupiah(figures.realised)),
        (_("Realised through"), _month_or_dash(through)),
        (_("Not realised yet"), rupiah(figures.not_realised)),
        (_("Workers covered"), count_text(report.workers_covered, fmt)),
        (_("Worker-months paid for"), fmt(report.worker_months_paid)),
        (_("Worker-months delivered"), count_text(report.worker_months_delivered, fmt)),
    ]
    wide = month_namer("wide")
    months = [(wide(month), rupiah(amount)) for month, amount in figures.realised_by_month]
    parts: list[Flowable] = [
        paragraph(_("Plan and realisation"), styles["h2"]),
        striped_table((_("Figure"), _("Value")), rows, (width * 0.5, width * 0.3), 1),
    ]
    if months:
        parts += [
            Spacer(1, 8),
            striped_table((_("Month"), _("Realised")), months, (width * 0.5, width * 0.3), 1),
        ]
    return parts


def _by_region(
    figures: TjslYear,
    styles: dict[str, ParagraphStyle],
    fmt: Callable[[int], str],
    width: float,
) -> list[Flowable]:
    """A year in several regions: each region's plan and realised amount, then its own
    figures; the sections above are the national total."""
    if not figures.national:
        return []
    rows = [
        (paragraph(r.name, styles["cell"]), rupiah(r.plan), rupiah(r.realised))
        for r in figures.regions
    ]
    rows.append(
        (
            paragraph(_("All regions"), styles["cell"]),
            rupiah(figures.plan),
            rupiah(figures.realised),
        )
    )
    return [
        paragraph(_("By region"), styles["h2"]),
        striped_table(
            (_("Region"), _("Plan"), _("Realised")),
            rows,
            (width * 0.4, width * 0.3, width * 0.3),
            1,
        ),
        paragraph(regions_note(figures.report), styles["note"]),
        *region_flowables(figures.report, styles, fmt, width),
    ]


def _month_or_dash(month: date | None) -> str:
    return month_namer("wide")(month) if month else NO_AMOUNT


def _beneficiaries(
    figures: TjslYear,
    styles: dict[str, ParagraphStyle],
    fmt: Callable[[int], str],
    width: float,
) -> list[Flowable]:
    parts: list[Flowable] = [paragraph(_("Beneficiaries"), styles["h2"])]
    for breakdown in figures.report.breakdowns:
        rows = [
            (
                paragraph(row.label, styles["cell"]),
                count_text(row.workers, fmt),
                count_text(row.worker_months, fmt),
            )
            for row in breakdown.rows
        ] or [(_("No workers covered yet."), "", "")]
        parts.append(
            KeepTogether(
                [
                    paragraph(breakdown.title, styles["body"]),
                    striped_table(
                        (_("Group"), _("Workers"), _("Worker-months")),
                        rows,
                        (width * 0.5, width * 0.2, width * 0.2),
                        1,
                    ),
                    Spacer(1, 6),
                ]
            )
        )
    return parts


def _claims(
    figures: TjslYear,
    styles: dict[str, ParagraphStyle],
    fmt: Callable[[int], str],
    width: float,
) -> list[Flowable]:
    rows = [
        (
            paragraph(c.label, styles["cell"]),
            count_text(c.claims, fmt),
            NO_AMOUNT if c.amount is None else rupiah(c.amount),
        )
        for c in figures.report.claims
    ]
    return [
        paragraph(_("Claims and benefits paid"), styles["h2"]),
        striped_table(
            (_("Benefit"), _("Claims"), _("Amount")),
            rows,
            (width * 0.5, width * 0.2, width * 0.3),
            1,
        ),
        Spacer(1, 4),
        paragraph(benefits_note(), styles["body"]),
    ]


def _certificates(
    figures: TjslYear, styles: dict[str, ParagraphStyle], width: float
) -> list[Flowable]:
    heading = paragraph(_("Certificates"), styles["h2"])
    if not figures.certificates:
        return [heading, paragraph(_("No certificates yet."), styles["body"])]
    rows = [
        (c.serial, f"#{c.pledge_id}", long_date(c.issued_on), _status(c.revoked))
        for c in figures.certificates
    ]
    return [
        heading,
        striped_table(
            (_("Serial"), _("Pledge"), _("Issued"), _("Status")),
            rows,
            (width * 0.35, width * 0.15, width * 0.3, width * 0.2),
            4,
        ),
    ]


# --- the statement of CSR spending ----------------------------------------------------------------

# Finance teams file the statement as it is: fixed Indonesian wording, English beneath.


def statement_pdf(statement: TjslStatement, regions: Sequence[RegionName] = ()) -> bytes:
    """The one-page "Bukti Realisasi TJSL" with its serial; only the stored figures, and the
    regions of its pledges with their regulations (Kota Semarang's when none is named)."""
    styles = pdf_styles()
    buffer = io.BytesIO()
    doc = _document(
        buffer,
        f"Bukti Realisasi TJSL {statement.serial}",
        f"Statement of CSR spending {statement.year}, {statement.company_name}",
    )
    story: list[Flowable] = [
        paragraph("BUKTI REALISASI TJSL", styles["title"]),
        paragraph("Statement of CSR (TJSL) spending", styles["company"]),
        Spacer(1, 8),
        _facts_table(statement, regions, styles, doc.width),
        Spacer(1, 10),
        paragraph(_statement_text_id(statement, regions), styles["body"]),
        Spacer(1, 4),
        paragraph(_statement_text_en(statement, regions), styles["body"]),
        Spacer(1, 10),
        paragraph(
            f"Diterbitkan oleh / Issued by: {ISSUER}. Dokumen elektronik; nomornya dapat "
            "dicocokkan dengan laporan TJSL tahun yang sama di portal. / An electronic "
            "document; its serial matches the TJSL report of the same year in the portal.",
            styles["note"],
        ),
    ]
    footer = page_footer(f"{statement.serial} · {statement.company_name}")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _places(regions: Sequence[RegionName]) -> str:
    return ", ".join(r.name for r in regions) or "Kota Semarang"


def _regulations(regions: Sequence[RegionName]) -> str:
    found = [r.regulation for r in regions if r.regulation]
    return "; ".join(dict.fromkeys(found)) or REGULATION


def _facts_table(
    statement: TjslStatement,
    regions: Sequence[RegionName],
    styles: dict[str, ParagraphStyle],
    width: float,
) -> Table:
    def text(value: str) -> Flowable:
        return paragraph(value, styles["cell"])

    rows = [
        ("Nomor / Serial", statement.serial),
        ("Tanggal terbit / Issued", long_date(statement.issued_at.date(), "id")),
        ("Perusahaan / Company", text(statement.company_name)),
        ("Tahun / Year", str(statement.year)),
        ("Program / Programme", text(PROGRAMME)),
        ("Dasar hukum / Legal basis", text(_regulations(regions))),
        ("Rencana / Plan", rupiah(statement.plan_amount, "id")),
        ("Realisasi / Realised", rupiah(statement.realised_amount, "id")),
        ("Bulan ditutup s.d. / Closed through", month_label(statement.realised_through, "id")),
        ("Komitmen / Pledges", text(", ".join(f"#{n}" for n in statement.pledge_ids) or "—")),
        ("Kuitansi / Receipts", text(", ".join(statement.receipts) or "—")),
    ]
    table = ArchivalTable(rows, colWidths=[width * 0.38, width * 0.62])
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (0, -1), BOLD, 9),
                ("FONT", (1, 0), (1, -1), FONT, 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cbd2d9")),
                ("TEXTCOLOR", (0, 0), (0, -1), colors.HexColor(PRIMARY)),
            ]
        )
    )
    table.hAlign = "LEFT"
    return table


def _statement_text_id(statement: TjslStatement, regions: Sequence[RegionName]) -> str:
    return (
        f"Dana tanggung jawab sosial dan lingkungan (TJSL) {statement.company_name} sebesar "
        f"{rupiah(statement.realised_amount, 'id')} telah direalisasikan pada tahun "
        f"{statement.year} untuk iuran Jaminan Kecelakaan Kerja (JKK) dan Jaminan Kematian "
        f"(JKM) BPJS Ketenagakerjaan bagi pekerja informal rentan {_places(regions)} dalam "
        f"program PIJAR SEMAR, berdasarkan {_regulations(regions)}, untuk bulan-bulan yang "
        "telah ditutup sampai "
        f"dengan {month_label(statement.realised_through, 'id')}."
    )


def _statement_text_en(statement: TjslStatement, regions: Sequence[RegionName]) -> str:
    return (
        f"{rupiah(statement.realised_amount, 'en')} of the CSR (TJSL) funds of "
        f"{statement.company_name} were used in {statement.year} for the JKK and JKM "
        f"contributions of vulnerable informal workers of {_places(regions)} in the PIJAR "
        f"SEMAR programme under {_regulations_en(regions)}, for the months closed through "
        f"{month_label(statement.realised_through, 'en')}."
    )


def _regulations_en(regions: Sequence[RegionName]) -> str:
    if [r.code for r in regions] in ([], [SEMARANG]):
        return "Mayoral Regulation (Perwal) 26/2025"
    return _regulations(regions)
