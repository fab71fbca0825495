"""Staff pages for money: all pledges, refunds, pending transfers, bank statement import."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.auth.forms import ConfirmForm
from portal.auth.permissions import Permission
from portal.certificates.services import pledge_certificates
from portal.companies.models import Company
from portal.extensions import db
from portal.i18n import rupiah
from portal.matching import queries as matching_queries
from portal.payments import outbound, queries, refund_approvals, refunds, services, statement
from portal.payments.exceptions import NothingToRefund, RefundWaiting, SameRefundApprover
from portal.payments.forms import (
    ConfirmTransferForm,
    IssueForm,
    RefundDecisionForm,
    StatementForm,
)
from portal.payments.issues import open_issues_of
from portal.payments.models import (
    STRIPE_WORK,
    Payment,
    PaymentMethod,
    Refund,
    RefundApproval,
    StatementImport,
)
from portal.payments.views import bp
from portal.pledges import queries as pledge_queries
from portal.pledges.forms import RefundForm
from portal.pledges.models import Pledge
from portal.pledges.pricing import group_periods
from portal.reports.figures import placement as sponsor_placement
from portal.security import load_owned, require, require_recent_login


@bp.get("/staff/pledges")
@require(Permission.PLEDGE_LIST)
def staff_pledges():  # type: ignore[no-untyped-def]
    status = request.args.get("status", "")
    return render_template(
        "payments/staff_pledges.html", status=status, pledges=pledge_queries.all_pledges(status)
    )


@bp.get("/staff/pledges/<int:pledge_id>")
@require(Permission.PLEDGE_LIST)
def staff_pledge(pledge_id: int):  # type: ignore[no-untyped-def]
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_LIST)
    amount = refunds.refundable(pledge.id)
    placement = None
    if pledge.coverage_start is not None:  # counts of the workers placed, never who
        placement = sponsor_placement(
            matching_queries.placement_profile(pledge.id),
            matching_queries.covered_slot_months(pledge.id),
        )
    return render_template(
        "payments/staff_pledge.html",
        pledge=pledge,
        company=db.session.get(Company, pledge.company_id),
        periods=group_periods(pledge.price_breakdown),
        payments=queries.pledge_payments(pledge.id),
        refunds=queries.pledge_refunds(pledge.id),
        documents=queries.pledge_documents(pledge.id),
        refund_form=RefundForm(),
        refund_waiting=refund_approvals.waiting_for(pledge.id),
        decision_form=RefundDecisionForm(),
        certificates=pledge_certificates(pledge.id),
        refundable=amount,
        unassigned=refunds.unassigned(pledge.id),
        issues=open_issues_of(pledge.id),
        issue_form=IssueForm(),
        timeline=pledge_queries.pledge_timeline(pledge.id),
        placement=placement,
    )


@bp.post("/staff/pledges/<int:pledge_id>/refund")
@require(Permission.PAYMENT_MANAGE)
@require_recent_login
def refund(pledge_id: int):  # type: ignore[no-untyped-def]
    """Book the refund, commit, then send card refunds to Stripe with no transaction open."""
    pledge = load_owned(Pledge, pledge_id, Permission.PAYMENT_MANAGE)
    form = RefundForm()
    if not form.validate_on_submit():
        flash(gettext("Write the reason for the refund (at least 5 characters)."), "danger")
        return redirect(url_for("payments.staff_pledge", pledge_id=pledge_id))
    try:
        outcome = refund_approvals.ask_refund(
            pledge, current_user, form.reason.data, form.bank_reference.data or ""
        )
    except RefundWaiting:
        db.session.rollback()
        flash(gettext("A refund of this pledge already waits for a second staff member."))
        return redirect(url_for("payments.staff_pledge", pledge_id=pledge_id))
    except NothingToRefund:
        db.session.rollback()
        flash(gettext("There is nothing left to refund on this pledge."), "warning")
        return redirect(url_for("payments.staff_pledge", pledge_id=pledge_id))
    if isinstance(outcome, RefundApproval):
        db.session.commit()
        flash(
            gettext(
                "The refund of %(amount)s is above the amount one person may refund: a second "
                "staff member must approve it on this page.",
                amount=rupiah(outcome.amount),
            ),
            "info",
        )
        return redirect(url_for("payments.staff_pledge", pledge_id=pledge_id))
    return _booked(pledge_id, outcome)


@bp.post("/staff/refund-approvals/<int:request_id>")
@require(Permission.PAYMENT_MANAGE)
@require_recent_login
def decide_refund(request_id: int):  # type: ignore[no-untyped-def]
    """A second staff member approves a large refund (it is booked) or declines it."""
    request_row = db.get_or_404(RefundApproval, request_id)
    form = RefundDecisionForm()
    if not form.validate_on_submit():
        abort(400)
    pledge_id = request_row.pledge_id
    try:
        if form.action.data == "approve":
            booked = refund_approvals.approve_refund(request_row, current_user)
        else:
            refund_approvals.decline_refund(request_row, current_user, form.note.data or "")
            db.session.commit()
            flash(gettext("The refund was declined; nothing moved."), "info")
            return redirect(url_for("payments.staff_pledge", pledge_id=pledge_id))
    except SameRefundApprover:
        db.session.rollback()
        flash(gettext("A different staff member must approve the refund you asked for."))
        return redirect(url_for("payments.staff_pledge", pledge_id=pledge_id))
    except (RefundWaiting, NothingToRefund):
        db.session.rollback()
        flash(gettext("This refund was decided already, or nothing is left to refund."))
        return redirect(url_for("payments.staff_pledge", pledge_id=pledge_id))
    return _booked(pledge_id, booked)


def _booked(pledge_id: int, booked: list[Refund]) -> Response:
    total = sum(r.amount for r in booked)
    sent = outbound.sync_stripe(pledge_id)  # commits the refund first
    if sent.errors:
        flash(
            gettext(
                "Refund of %(amount)s booked, but Stripe refused it: %(why)s. It is "
                "sent again from the refunds list.",
                amount=rupiah(total),
                why="; ".join(map(str, sent.errors)),
            ),
            "danger",
        )
    else:
        flash(
            gettext(
                "Refund of %(amount)s booked; card payments are returned through "
                "Stripe, transfers must be sent back by the bank.",
                amount=rupiah(total),
            ),
            "success",
        )
    return redirect(url_for("payments.staff_pledge", pledge_id=pledge_id))


@bp.get("/staff/transfers")
@require(Permission.PAYMENT_READ)
def transfers():  # type: ignore[no-untyped-def]
    return render_template(
        "payments/transfers.html",
        confirm_form=ConfirmTransferForm(),
        statement_form=StatementForm(),
        open_imports=statement.open_statement_imports(),
        **_pending(),
    )


def _pending() -> dict[str, object]:
    """The transfers waiting for money, with their companies' names."""
    pending = queries.pending_transfers()
    return {
        "pending": pending,
        "company_names": queries.company_names({p.company_id for p in pending}),
    }


@bp.post("/staff/transfers/<int:payment_id>/confirm")
@require(Permission.PAYMENT_MANAGE)
def confirm_transfer(payment_id: int):  # type: ignore[no-untyped-def]
    """Record what arrived; a different amount opens an under- or over-payment issue."""
    payment = load_owned(Payment, payment_id, Permission.PAYMENT_MANAGE)
    form = ConfirmTransferForm()
    if not form.validate_on_submit() or payment.method != PaymentMethod.BANK_TRANSFER:
        flash(gettext("Enter the amount received for a pending transfer."), "danger")
    elif not services.confirm_payment(payment, form.amount.data, current_user, "manual"):
        db.session.rollback()
        flash(
            gettext(
                "Transfer %(ref)s was already confirmed; nothing changed.", ref=payment.reference
            ),
            "warning",
        )
    else:
        received = form.amount.data
        _commit_then_sync()
        _flash_confirmed(payment, received)
    return redirect(url_for("payments.transfers"))


def _commit_then_sync() -> None:
    """Commit; then, when the confirmations voided a card attempt (its Checkout Session must
    stop taking money) or booked a card refund, do it at Stripe with no transaction open."""
    work = db.session.info.pop(STRIPE_WORK, False)
    db.session.commit()
    if work:
        outbound.sync_stripe()


def _flash_confirmed(payment: Payment, received: int) -> None:
    if received == payment.amount:
        flash(gettext("Transfer %(ref)s confirmed.", ref=payment.reference), "success")
    elif received < payment.amount:
        flash(
            gettext(
                "Transfer %(ref)s recorded short by %(diff)s: accept it or ask for a "
                "top-up on the pledge page.",
                ref=payment.reference,
                diff=rupiah(payment.amount - received),
            ),
            "warning",
        )
    else:
        flash(
            gettext(
                "Transfer %(ref)s recorded with %(diff)s too much: refund the excess on "
                "the pledge page.",
                ref=payment.reference,
                diff=rupiah(received - payment.amount),
            ),
            "warning",
        )


@bp.post("/staff/transfers/statement")
@require(Permission.PAYMENT_MANAGE)
def import_statement():  # type: ignore[no-untyped-def]
    form = StatementForm()
    if not form.validate_on_submit():
        return render_template(
            "payments/transfers.html",
            confirm_form=ConfirmTransferForm(),
            statement_form=form,
            open_imports=statement.open_statement_imports(),
            **_pending(),
        ), 400
    upload = form.statement.data
    results = statement.apply_statement(upload.read(), current_user)
    kept = statement.record_statement_import(results, upload.filename or "", current_user)
    _commit_then_sync()
    # The result has its own address: leaving the page and coming back still shows it.
    return redirect(url_for("payments.statement_result", import_id=kept.id))


@bp.get("/staff/transfers/statements/<int:import_id>")
@require(Permission.PAYMENT_READ)
def statement_result(import_id: int):  # type: ignore[no-untyped-def]
    return render_template(
        "payments/statement_result.html",
        kept=db.get_or_404(StatementImport, import_id),
        dismiss_form=ConfirmForm(),
    )


@bp.post("/staff/transfers/statements/<int:import_id>/dismiss")
@require(Permission.PAYMENT_MANAGE)
def dismiss_statement(import_id: int):  # type: ignore[no-untyped-def]
    kept = db.get_or_404(StatementImport, import_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    statement.dismiss_statement_import(kept, current_user)
    db.session.commit()
    flash(gettext("The statement result was dismissed."), "success")
    return redirect(url_for("payments.transfers"))
