"""One worker's data as a JSON document and an A4 PDF, built in memory (never on disk)."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from portal.i18n import current_locale, long_date, month_label, rupiah
from portal.labels import label
from portal.pdf import BOLD, FONT, ArchivalDocument, ArchivalTable, page_footer, stylesheet
from portal.privacy.breach import controller
from portal.privacy.queries import ClaimLine, CoverageLine, EventLine, WorkerRecord

GREEN = "#0b5d4b"
MARGIN = 18 * mm
MAX_DETAILS = 300  # characters of an audit row's details shown in the PDF


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- JSON -----------------------------------------------------------------------------------


def record_json(record: WorkerRecord) -> bytes:
    """Every field under a stable English key; dates ISO 8601, money whole rupiah."""
    document = {
        "document": "PIJAR SEMAR personal data of a worker (UU 27/2022)",
        "controller": controller(),
        "generated_at": _iso(record.generated_at),
        "worker": _worker_json(record),
        "status_history": [
            {
                "at": _iso(h.created_at),
                "from": h.from_status,
                "to": h.to_status,
                "reason": h.reason,
                "note": h.note,
            }
            for h in record.history
        ],
        "coverage": [_coverage_json(c) for c in record.coverage],
        "claims": [_claim_json(c) for c in record.claims],
        "audit_events": [
            {
                "at": _iso(e.at),
                "action": e.action,
                "by": e.actor_role or "system",
                "before": e.before,
                "after": e.after,
            }
            for e in record.events
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8")


def _worker_json(record: WorkerRecord) -> dict[str, Any]:
    w = record.worker
    return {
        "id": w.id,
        "full_name": w.full_name,
        "nik": record.nik,
        "nik_masked": w.nik_masked,
        "birth_date": _iso(w.birth_date),
        "sex": w.sex,
        "category": {
            "code": w.category.code,
            "name_id": w.category.name_id,
            "name_en": w.category.name_en,
        },
        "kelurahan": {"code": w.kelurahan_code, "name": w.kelurahan.name},
        "kecamatan": {"code": w.kelurahan.kecamatan_code, "name": w.kelurahan.kecamatan.name},
        "address": w.address,
        "phone": record.phone,
        "kpj": w.kpj,
        "dtsen_decile": w.dtsen_decile,
        "nik_in_semarang": w.nik_in_semarang,
        "domicile_flag": w.domicile_flag,
        "other_membership": w.other_membership,
        "registered_on": _iso(w.registered_on),
        "status": w.status,
        "inactive_reason": w.inactive_reason,
        "erased_at": _iso(w.erased_at),
        "created_at": _iso(w.created_at),
        "updated_at": _iso(w.updated_at),
    }


def _coverage_json(line: CoverageLine) -> dict[str, Any]:
    return {
        "month": f"{line.month:%Y-%m}",
        "funder": line.funder,
        "pledge_id": line.pledge_id,
        "company": line.company,
        "amount": line.amount,
        "rule_version": line.rule_version,
    }


def _claim_json(line: ClaimLine) -> dict[str, Any]:
    return {
        "event_date": _iso(line.event_date),
        "month": f"{line.month:%Y-%m}",
        "kind": line.kind,
        "amount": line.amount,
        "funder": line.funder,
        "pledge_id": line.pledge_id,
        "company": line.company,
        "story": line.story,
        "recorded_at": _iso(line.recorded_at),
    }


# --- PDF ------------------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    base = stylesheet()
    green = colors.HexColor(GREEN)
    return {
        "title": ParagraphStyle(
            "Title", parent=base["Title"], fontSize=17, leading=21, alignment=0, textColor=green
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
        "cell": ParagraphStyle("Cell", parent=base["BodyText"], fontSize=8.5, leading=10.5),
    }


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    """Plain text, escaped: names, notes and stories are data, not markup."""
    return Paragraph(html.escape(str(text), quote=False), style)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float]) -> Table:
    table = ArchivalTable([list(header), *rows], colWidths=list(widths), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), BOLD, 8.5),
                ("FONT", (0, 1), (-1, -1), FONT, 8.5),
                ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(GREEN)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cbd2d9")),
            ]
        )
    )
    table.hAlign = "LEFT"
    return table


def _yes(value: bool) -> str:
    return _("Yes") if value else _("No")


def _register_rows(record: WorkerRecord) -> list[tuple[str, str]]:
    w = record.worker
    kelurahan = f"{w.kelurahan.name}, {w.kelurahan.kecamatan.name} ({w.kelurahan_code})"
    return [
        (_("Register number"), str(w.id)),
        (_("Full name"), w.full_name),
        ("NIK", record.nik),
        (_("Birth date"), long_date(w.birth_date)),
        (_("Sex"), _("Female (P)") if w.sex == "P" else _("Male (L)")),
        (_("Category"), w.category.display_name(current_locale())),
        (_("Kelurahan"), kelurahan),
        (_("Address"), w.address or "–"),
        (_("Phone"), record.phone or "–"),
        ("KPJ", w.kpj or "–"),
        (_("DTSEN decile"), str(w.dtsen_decile or "–")),
        (_("NIK issued in Kota Semarang"), _yes(w.nik_in_semarang)),
        (_("Domicile in Semarang confirmed by staff"), _yes(w.domicile_flag)),
        (_("Covered by another BPJS TK membership"), _yes(w.other_membership)),
        (_("Registered"), long_date(w.registered_on)),
        (_("Status"), _status(record)),
    ]


def _status(record: WorkerRecord) -> str:
    w = record.worker
    text = label(w.status) + (f" ({label(w.inactive_reason)})" if w.inactive_reason else "")
    if w.erased_at is not None:
        text += " · " + _("personal data erased on %(date)s", date=long_date(w.erased_at.date()))
    return text


def _funder(funder: str, company: str | None, pledge_id: int | None) -> str:
    if pledge_id is None:
        return label(funder)
    return _("%(company)s, pledge #%(id)s", company=company or "–", id=pledge_id)


def _details(event: EventLine) -> str:
    parts = [
        f"{key}: {value}"
        for details in (event.before, event.after)
        for key, value in (details or {}).items()
    ]
    text = "; ".join(parts)
    return text if len(text) <= MAX_DETAILS else text[: MAX_DETAILS - 1] + "…"


def record_pdf(record: WorkerRecord) -> bytes:
    """The same content as record_json, for the worker to read; the title and metadata carry
    the register number only, never the name or the NIK."""
    styles = _styles()
    buffer = io.BytesIO()
    title = _("Personal data held about worker #%(id)s", id=record.worker.id)
    doc = ArchivalDocument(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=title,
        author=controller(),
        creator="PIJAR SEMAR",
        lang=current_locale(),
    )
    generated = long_date(record.generated_at.date())
    footer = page_footer(f"PIJAR SEMAR · {title} · {generated}")
    width = doc.width
    story: list[Flowable] = [
        _p(title, styles["title"]),
        _p(
            _(
                "Everything the PIJAR SEMAR portal holds about this worker on %(date)s, as the "
                "Personal Data Protection Law (UU 27/2022) gives the right to obtain it. "
                "Controller: %(controller)s.",
                date=generated,
                controller=controller(),
            ),
            styles["body"],
        ),
        Spacer(1, 8),
        _table(
            (_("Field"), _("Value")),
            [(k, _p(v, styles["cell"])) for k, v in _register_rows(record)],
            (width * 0.4, width * 0.6),
        ),
    ]
    story += _history(record, styles, width)
    story += _coverage(record, styles, width)
    story += _claims(record, styles, width)
    story += _events(record, styles, width)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _section(
    heading: str,
    empty: str,
    header: Sequence[str],
    rows: list[Sequence[Any]],
    widths: Sequence[float],
    styles: dict[str, ParagraphStyle],
) -> list[Flowable]:
    if not rows:
        return [_p(heading, styles["h2"]), _p(empty, styles["body"])]
    return [_p(heading, styles["h2"]), _table(header, rows, widths)]


def _history(
    record: WorkerRecord, styles: dict[str, ParagraphStyle], width: float
) -> list[Flowable]:
    rows: list[Sequence[Any]] = [
        (
            h.created_at.strftime("%Y-%m-%d %H:%M"),
            f"{label(h.from_status) if h.from_status else '–'} → {label(h.to_status)}",
            label(h.reason) if h.reason else "–",
            _p(h.note or "–", styles["cell"]),
        )
        for h in record.history
    ]
    return _section(
        _("Status history"),
        _("No status changes."),
        (_("When (UTC)"), _("Change"), _("Reason"), _("Note")),
        rows,
        (width * 0.2, width * 0.3, width * 0.2, width * 0.3),
        styles,
    )


def _coverage(
    record: WorkerRecord, styles: dict[str, ParagraphStyle], width: float
) -> list[Flowable]:
    rows: list[Sequence[Any]] = [
        (
            month_label(c.month),
            _p(_funder(c.funder, c.company, c.pledge_id), styles["cell"]),
            rupiah(c.amount),
        )
        for c in record.coverage
    ]
    return _section(
        _("Coverage"),
        _("No coverage yet."),
        (_("Month"), _("Paid by"), _("Contribution")),
        rows,
        (width * 0.25, width * 0.5, width * 0.25),
        styles,
    )


def _claims(
    record: WorkerRecord, styles: dict[str, ParagraphStyle], width: float
) -> list[Flowable]:
    rows: list[Sequence[Any]] = [
        (
            long_date(c.event_date),
            label(c.kind),
            rupiah(c.amount),
            _p(_funder(c.funder, c.company, c.pledge_id), styles["cell"]),
            _p(c.story or "–", styles["cell"]),
        )
        for c in record.claims
    ]
    return _section(
        _("Benefit claims"),
        _("No benefit claims."),
        (_("Date"), _("Benefit"), _("Amount"), _("Paid by"), _("Story")),
        rows,
        (width * 0.16, width * 0.18, width * 0.16, width * 0.22, width * 0.28),
        styles,
    )


def _events(
    record: WorkerRecord, styles: dict[str, ParagraphStyle], width: float
) -> list[Flowable]:
    rows: list[Sequence[Any]] = [
        (
            e.at.strftime("%Y-%m-%d %H:%M"),
            e.action,
            label(e.actor_role) if e.actor_role else _("the portal"),
            _p(_details(e) or "–", styles["cell"]),
        )
        for e in record.events
    ]
    return _section(
        _("Who did what with this data"),
        _("Nothing recorded."),
        (_("When (UTC)"), _("Action"), _("By"), _("Details")),
        rows,
        (width * 0.18, width * 0.22, width * 0.14, width * 0.46),
        styles,
    )
