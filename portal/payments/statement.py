"""Apply a bank statement: exact matches confirm their transfer; the rest go to a person."""

from __future__ import annotations

from dataclasses import dataclass

from portal.audit.services import record_event
from portal.auth.models import User
from portal.csvtext import Source
from portal.payments.bank_statement import match_statement, parse_statement
from portal.payments.queries import payment_by_reference, pending_transfer_amounts
from portal.payments.services import confirm_payment


@dataclass(frozen=True)
class StatementResult:
    row: int
    description: str
    amount: int
    reference: str | None
    outcome: str  # matched, underpaid, overpaid, unknown_reference, duplicate, error


def apply_statement(data: Source, actor: User) -> list[StatementResult]:
    """Confirm every exactly-matched pending transfer once; report every other line."""
    parsed = parse_statement(data)
    results = [StatementResult(e.row, "", 0, None, "error: " + e.message) for e in parsed.errors]
    results += [StatementResult(n.row, "", 0, None, "ignored: " + n.message) for n in parsed.notes]
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
