"""Apply a bank statement: exact matches confirm their transfer; the rest go to a person. What
an import did is kept (StatementImport) until someone dismisses it."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select

from portal.audit.services import record_event
from portal.auth.models import User
from portal.csvtext import MAX_DETAIL, Source
from portal.db import utcnow
from portal.extensions import db
from portal.messages import Message, as_data
from portal.payments.bank_statement import match_statement, parse_statement
from portal.payments.models import StatementImport
from portal.payments.queries import payment_by_reference, pending_transfer_amounts
from portal.payments.services import confirm_payment

# Every outcome a line can have; the page shows each through its "statement.<code>" label.
OUTCOMES = (
    "matched",
    "underpaid",
    "overpaid",
    "unknown_reference",
    "duplicate",
    "error",
    "ignored",
)
OPEN_IMPORTS_SHOWN = 5


@dataclass(frozen=True)
class StatementResult:
    row: int
    description: str
    amount: int
    reference: str | None
    outcome: str  # one of OUTCOMES
    detail: Message | str = ""  # why, for an error or an ignored line

    def as_json(self) -> dict[str, Any]:
        """Kept in StatementImport.results; the page shows `detail` with the message filter."""
        data = asdict(replace(self, detail=""))
        data["detail"] = as_data(self.detail)
        return data


def apply_statement(data: Source, actor: User, today: date | None = None) -> list[StatementResult]:
    """Confirm every exactly-matched pending transfer once; report every other line. Dates
    without a year are dated from the statement's period, else from `today` (the upload day)."""
    parsed = parse_statement(data, today)
    results = [StatementResult(e.row, "", 0, None, "error", e.message) for e in parsed.errors]
    results += [StatementResult(n.row, "", 0, None, "ignored", n.message) for n in parsed.notes]
    for match in match_statement(parsed.lines, pending_transfer_amounts()):
        line = match.line
        outcome = str(match.outcome)
        if outcome == "matched" and match.reference is not None:
            payment = payment_by_reference(match.reference)
            if payment is None or not confirm_payment(payment, line.amount, actor, "statement"):
                outcome = "duplicate"
        results.append(
            StatementResult(line.row, line.description, line.amount, match.reference, outcome)
        )
    record_event(
        "payment.statement_import",
        actor=actor,
        after={"lines": len(results), "matched": sum(r.outcome == "matched" for r in results)},
    )
    return sorted(results, key=lambda r: r.row)


def record_statement_import(
    results: list[StatementResult], filename: str, actor: User
) -> StatementImport:
    """Keep what an import did: counts for every line, the first MAX_DETAIL lines in full."""
    kept = StatementImport(
        filename=filename[:255],
        lines=len(results),
        counts=dict(Counter(r.outcome for r in results)),
        results=[r.as_json() for r in results[:MAX_DETAIL]],
        created_by_id=actor.id,
    )
    db.session.add(kept)
    db.session.flush()
    return kept


def dismiss_statement_import(kept: StatementImport, actor: User) -> bool:
    """Take the result off the transfers page for every staff member; False when someone
    dismissed it already (nothing changes)."""
    if kept.dismissed_at is not None:
        return False
    kept.dismissed_at, kept.dismissed_by_id = utcnow(), actor.id
    record_event("payment.statement_dismiss", kept, actor=actor, after={"lines": kept.lines})
    db.session.flush()
    return True


def open_statement_imports() -> list[StatementImport]:
    """The latest results nobody has dismissed yet, newest first."""
    return list(
        db.session.scalars(
            select(StatementImport)
            .where(StatementImport.dismissed_at.is_(None))
            .order_by(StatementImport.id.desc())
            .limit(OPEN_IMPORTS_SHOWN)
        )
    )
