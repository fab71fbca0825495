"""The auditor's workbench: balances, entries, trial balances, reconciliation, evidence packs."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from portal.audit.services import record_event
from portal.auth.permissions import Permission
from portal.companies.models import Company
from portal.coverage import queries as coverage_queries
from portal.coverage.exceptions import InvalidMonth, MonthNotClosed
from portal.coverage.services import parse_month
from portal.extensions import db
from portal.ledger import queries
from portal.ledger.checks import check_ledger
from portal.ledger.evidence import closed_months, evidence_pack
from portal.ledger.models import Account, EntryKind
from portal.ledger.reconciliation import reconcile
from portal.ledger.wording import memo_text
from portal.security import require, require_recent_login

bp = Blueprint("ledger", __name__, url_prefix="/ledger")


def _month(text: str) -> date:
    try:
        return parse_month(text)
    except InvalidMonth:
        abort(404)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _number(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() and len(value) < 12 else None


def _company_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(select(Company.id, Company.legal_name).where(Company.id.in_(ids)))
    return {company_id: name for company_id, name in rows}


@bp.get("/")
@require(Permission.LEDGER_READ)
def index():  # type: ignore[no-untyped-def]
    """Balances at a date (today unless asked), the months, and the ledger's own checks."""
    on = _day(request.args.get("on")) or date.today()
    closed = closed_months()
    return render_template(
        "ledger/index.html",
        on=on,
        balances=queries.balances_at(on),
        months=sorted(set(queries.entry_months()) | closed, reverse=True),
        closed=closed,
        problems=check_ledger(),
    )


@bp.get("/entries")
@require(Permission.LEDGER_READ)
def entries():  # type: ignore[no-untyped-def]
    kind = request.args.get("kind", "")
    account = request.args.get("account", "")
    filters = queries.EntryFilters(
        kind=kind if kind in set(EntryKind) else "",
        account=account if account in set(Account) else "",
        company_id=_number("company"),
        payment_id=_number("payment"),
        pledge_id=_number("pledge"),
        start=_day(request.args.get("start")),
        end=_day(request.args.get("end")),
    )
    page = db.paginate(queries.entries_query(filters), per_page=50, max_per_page=200)
    args = {
        "kind": filters.kind,
        "account": filters.account,
        "company": filters.company_id or "",
        "payment": filters.payment_id or "",
        "pledge": filters.pledge_id or "",
        "start": filters.start.isoformat() if filters.start else "",
        "end": filters.end.isoformat() if filters.end else "",
    }
    names = _company_names(
        {line.company_id for entry in page.items for line in entry.lines if line.company_id}
    )
    return render_template(
        "ledger/entries.html",
        page=page,
        args=args,
        kinds=list(EntryKind),
        accounts=list(Account),
        names=names,
        memo_text=memo_text,
    )


@bp.get("/months/<month>")
@require(Permission.LEDGER_READ)
def trial_balance(month: str):  # type: ignore[no-untyped-def]
    when = _month(month)
    by_company = queries.trial_balance_by_company(when)
    return render_template(
        "ledger/trial_balance.html",
        month=when,
        month_end=queries.month_end(when),
        total=queries.trial_balance(when),
        by_funder=queries.trial_balance_by_funder(when),
        by_company=by_company,
        names=_company_names({int(row.key) for row in by_company}),
        closed=coverage_queries.month_close(when) is not None,
    )


@bp.get("/months/<month>/reconciliation")
@require(Permission.LEDGER_READ)
def reconciliation(month: str):  # type: ignore[no-untyped-def]
    when = _month(month)
    report = reconcile(when)
    return render_template(
        "ledger/reconciliation.html",
        month=when,
        report=report,
        names=_company_names({line.company_id for line in report.payments}),
    )


@bp.get("/months/<month>/evidence.zip")
@require(Permission.AUDIT_EXPORT)
@require_recent_login
def evidence(month: str):  # type: ignore[no-untyped-def]
    """A closed month's evidence pack; taking one is audited, with the files' hashes."""
    when = _month(month)
    try:
        body, hashes = evidence_pack(when)
    except MonthNotClosed:
        abort(404)
    record_event(
        "ledger.evidence_pack",
        actor=current_user,
        after={"month": f"{when:%Y-%m}", "files": hashes},
    )
    db.session.commit()
    return Response(
        body,
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{when:%Y-%m}.zip"',
            "Cache-Control": "no-store",
        },
    )
