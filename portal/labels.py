"""Human labels for stored codes (statuses, roles, sectors), translatable in one place."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

LABELS = {
    "pending": _l("Pending verification"),
    "verified": _l("Verified"),
    "rejected": _l("Rejected"),
    "sponsor_owner": _l("Sponsor owner"),
    "sponsor_member": _l("Sponsor member"),
    "staff": _l("Staff"),
    "admin": _l("Admin"),
    "auditor": _l("Auditor"),
    "apbd": _l("City budget (APBD)"),
    "dbhcht": _l("Tobacco excise (DBHCHT)"),
    "pledge": _l("Company sponsor (CSR)"),
    "jkk": _l("JKK (work accident)"),
    "jkm": _l("JKM (death)"),
    "registered": _l("Registered"),
    "eligible": _l("Eligible"),
    "inactive": _l("Inactive"),
    "deceased": _l("Deceased"),
    "moved": _l("Moved away"),
    "over_age": _l("Over age"),
    "formal_job": _l("Formal job"),
    "duplicate": _l("Duplicate record"),
    "erased": _l("Personal data erased"),
    "draft": _l("Draft"),
    "awaiting_approval": _l("Awaiting an owner's approval"),
    "awaiting_payment": _l("Awaiting payment"),
    "paid": _l("Paid"),
    "active": _l("Active"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    "refunded": _l("Refunded"),
    "payment.pending": _l("Waiting for payment"),
    "payment.paid": _l("Paid"),
    "payment.failed": _l("Failed"),
    "payment.expired": _l("Expired"),
    "payment.void": _l("Replaced by a newer payment"),
    "job.pending": _l("Waiting"),
    "job.running": _l("Running"),
    "job.retrying": _l("Retrying"),
    "job.done": _l("Done"),
    "job.failed": _l("Failed"),
    "payment.refunded": _l("Refunded"),
    "payment.partly_refunded": _l("Partly refunded"),
    "issue.overpayment": _l("Over-payment"),
    "issue.underpayment": _l("Under-payment"),
    "issue.unbookable": _l("Refund the ledger cannot book"),
    "issue.dispute": _l("Card dispute"),
    "issue.refund_request": _l("Refund requested by the sponsor"),
    "refund.staff": _l("Refunded by staff"),
    "refund.stripe": _l("Refunded in Stripe"),
    "refund.duplicate": _l("Second payment returned"),
    "refund.overpayment": _l("Excess returned"),
    "refund.unused": _l("Unused money returned"),
    "refund.dispute": _l("Card dispute lost"),
    "ineligible.status": _l("status is not eligible"),
    "ineligible.domicile": _l("NIK not from Kota Semarang and no domicile confirmed"),
    "ineligible.category": _l("category retired"),
    "ineligible.over_age": _l("older than 64 years 11 months"),
    "ineligible.other_membership": _l("covered by another BPJS TK membership"),
}

SECTOR_LABELS = {
    "manufacturing": _l("Manufacturing"),
    "trade": _l("Trade and retail"),
    "finance": _l("Banking and finance"),
    "construction": _l("Construction and property"),
    "transport": _l("Transport and logistics"),
    "hospitality": _l("Hotels and food service"),
    "tobacco": _l("Tobacco"),
    "energy": _l("Energy and utilities"),
    "telecom": _l("Telecommunications"),
    "soe": _l("State- or city-owned enterprise"),
    "other": _l("Other"),
}


def label(code: str | None) -> str:
    """The translated label of a code; unknown codes are shown as they are."""
    if code is None:
        return "–"
    value = LABELS.get(str(code)) or SECTOR_LABELS.get(str(code))
    return str(value) if value is not None else str(code)
