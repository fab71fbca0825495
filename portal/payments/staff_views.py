"""Staff pages for money: all pledges, refunds, pending transfers, bank statement import."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from portal.auth.permissions import Permission
from portal.certificates.services import pledge_certificates
from portal.extensions import db
from portal.ledger.exceptions import InsufficientBalance
from portal.matching import queries as matching_queries
from portal.payments import queries, services, statement
from portal.payments.exceptions import GatewayError, NothingToRefund
from portal.payments.forms import ConfirmTransferForm, StatementForm
from portal.payments.models import Payment, PaymentMethod, PaymentStatus
from portal.payments.views import bp
from portal.pledges import queries as pledge_queries
from portal.pledges.exceptions import IllegalPledgeTransition
from portal.pledges.forms import RefundForm
from portal.pledges.models import Pledge
from portal.pledges.pricing import group_periods
from portal.reports.figures import placement as sponsor_placement
from portal.security import load_owned, require


@bp.get("/staff/pledges")
@require(Permission.PLEDGE_LIST)
def staff_pledges():  # type: ignore[no-untyped-def]
    status = request.args.get("status", "")
    return render_template("payments/staff_pledges.html", status=status,
                           pledges=pledge_queries.all_pledges(status))


@bp.get("/staff/pledges/<int:pledge_id>")
@require(Permission.PLEDGE_LIST)
def staff_pledge(pledge_id: int):  # type: ignore[no-untyped-def]
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_LIST)
    amount, worker_months = services.refundable_amount(pledge)
    placement = None
    if pledge.coverage_start is not None:  # counts of the workers placed, never who
        placement = sponsor_placement(matching_queries.placement_profile(pledge.id),
                                      matching_queries.covered_slot_months(pledge.id))
    return render_template(
        "payments/staff_pledge.html", pledge=pledge, periods=group_periods(pledge.price_breakdown),
        payments=queries.pledge_payments(pledge.id), refunds=queries.pledge_refunds(pledge.id),
        documents=queries.pledge_documents(pledge.id), refund_form=RefundForm(),
        certificates=pledge_certificates(pledge.id),
        refundable=amount, refundable_months=worker_months,
        timeline=pledge_queries.pledge_timeline(pledge.id), placement=placement)


@bp.post("/staff/pledges/<int:pledge_id>/refund")
@require(Permission.PAYMENT_MANAGE)
def refund(pledge_id: int):  # type: ignore[no-untyped-def]
    pledge = load_owned(Pledge, pledge_id, Permission.PAYMENT_MANAGE)
    form = RefundForm()
    if not form.validate_on_submit():
        flash(gettext("Write the reason for the refund (at least 5 characters)."), "danger")
        return redirect(url_for("payments.staff_pledge", pledge_id=pledge.id))
    try:
        booked = services.refund_pledge(pledge, current_user, form.reason.data,
                                        form.bank_reference.data or "")
        db.session.commit()
    except (NothingToRefund, IllegalPledgeTransition, InsufficientBalance):
        db.session.rollback()
        flash(gettext("There is nothing left to refund on this pledge."), "warning")
        return redirect(url_for("payments.staff_pledge", pledge_id=pledge.id))
    _send_card_refund(booked)
    return redirect(url_for("payments.staff_pledge", pledge_id=pledge.id))


def _send_card_refund(booked) -> None:  # type: ignore[no-untyped-def]
    payment = db.session.get(Payment, booked.payment_id)
    if payment.method != PaymentMethod.STRIPE:
        flash(gettext("Refund booked; transfer the money back to the company."), "success")
        return
    try:
        services.send_stripe_refund(booked)
        db.session.commit()
        flash(gettext("Refund booked and sent to the card through Stripe."), "success")
    except GatewayError as error:
        db.session.rollback()
        flash(gettext("Refund booked, but Stripe refused it: %(why)s", why=str(error)), "danger")


@bp.get("/staff/transfers")
@require(Permission.PAYMENT_MANAGE)
def transfers():  # type: ignore[no-untyped-def]
    return render_template("payments/transfers.html", pending=queries.pending_transfers(),
                           confirm_form=ConfirmTransferForm(), statement_form=StatementForm(),
                           results=None)


@bp.post("/staff/transfers/<int:payment_id>/confirm")
@require(Permission.PAYMENT_MANAGE)
def confirm_transfer(payment_id: int):  # type: ignore[no-untyped-def]
    payment = load_owned(Payment, payment_id, Permission.PAYMENT_MANAGE)
    form = ConfirmTransferForm()
    if not form.validate_on_submit() or payment.status != PaymentStatus.PENDING:
        flash(gettext("Enter the amount received for a pending transfer."), "danger")
    elif form.amount.data != payment.amount:
        flash(gettext("The amount received (%(got)s) differs from the amount due (%(due)s); "
                      "contact the company before confirming.",
                      got=form.amount.data, due=payment.amount), "danger")
    else:
        services.confirm_payment(payment, form.amount.data, current_user, "manual")
        db.session.commit()
        flash(gettext("Transfer %(ref)s confirmed.", ref=payment.reference), "success")
    return redirect(url_for("payments.transfers"))


@bp.post("/staff/transfers/statement")
@require(Permission.PAYMENT_MANAGE)
def import_statement():  # type: ignore[no-untyped-def]
    form = StatementForm()
    if not form.validate_on_submit():
        return render_template("payments/transfers.html", pending=queries.pending_transfers(),
                               confirm_form=ConfirmTransferForm(), statement_form=form,
                               results=None), 400
    results = statement.apply_statement(form.statement.data.read(), current_user)
    db.session.commit()
    return render_template("payments/transfers.html", pending=queries.pending_transfers(),
                           confirm_form=ConfirmTransferForm(), statement_form=StatementForm(),
                           results=results)


