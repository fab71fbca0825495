"""Staff pages for payment issues: over- and under-payments, unbookable refunds, disputes,
sponsors' requests to return transfer money; and re-sending card refunds to Stripe."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.auth.permissions import Permission
from portal.companies.models import Company
from portal.extensions import db
from portal.i18n import rupiah
from portal.messages import _m
from portal.payments import outbound, queries, services
from portal.payments.exceptions import IssueClosed, NothingToRefund
from portal.payments.forms import IssueForm
from portal.payments.issues import open_issues_of, resolve_issue
from portal.payments.models import IssueKind, IssueStatus, Payment, PaymentIssue, RefundSource
from portal.payments.refunds import refund_payment, unassigned
from portal.payments.views import bp
from portal.pledges.exceptions import CompanyNotVerified, IllegalPledgeTransition
from portal.pledges.models import Pledge
from portal.security import load_owned, require, require_recent_login

_REFUND_SOURCE = {
    IssueKind.OVERPAYMENT: RefundSource.OVERPAYMENT,
    IssueKind.REFUND_REQUEST: RefundSource.UNUSED,
}


@bp.get("/staff/payment-issues")
@require(Permission.PLEDGE_LIST)
def issues():  # type: ignore[no-untyped-def]
    status = request.args.get("status", IssueStatus.OPEN.value)
    return render_template(
        "payments/issues.html",
        status=status,
        issues=queries.payment_issues(status),
        form=IssueForm(),
        unsent=queries.unsent_card_refunds(),
    )


@bp.post("/staff/payment-issues/<int:issue_id>")
@require(Permission.PAYMENT_MANAGE)
@require_recent_login
def settle_issue(issue_id: int) -> Response:
    issue = load_owned(PaymentIssue, issue_id, Permission.PAYMENT_MANAGE)
    form = IssueForm()
    if not form.validate_on_submit():
        flash(gettext("Write a note (at least 3 characters) saying what was done."), "danger")
        return redirect(url_for("payments.issues"))
    try:
        message = _settle(issue, form)
    except (IssueClosed, NothingToRefund, IllegalPledgeTransition, CompanyNotVerified):
        db.session.rollback()
        flash(
            gettext("This issue cannot be settled that way (it may be settled already)."), "warning"
        )
        return redirect(url_for("payments.issues"))
    outbound.sync_stripe(issue.pledge_id)  # commits; a card refund then goes to Stripe
    flash(message, "success")
    return redirect(url_for("payments.issues"))


def _settle(issue: PaymentIssue, form: IssueForm) -> str:
    """Raises IssueClosed, NothingToRefund, IllegalPledgeTransition, CompanyNotVerified."""
    if issue.status != IssueStatus.OPEN:
        raise IssueClosed(str(issue.id))
    pledge = db.session.get_one(Pledge, issue.pledge_id)
    action, note = form.action.data, form.note.data
    if action == "refund" and issue.kind in _REFUND_SOURCE and issue.payment_id:
        payment = db.session.get_one(Payment, issue.payment_id)
        # Only money no worker-month uses: an excess never takes placed months with it.
        amount = min(issue.amount, unassigned(pledge.id))
        if amount <= 0:
            raise NothingToRefund(str(issue.id))
        result = refund_payment(
            payment,
            amount,
            _REFUND_SOURCE[issue.kind],
            current_user,
            note,
            bank_reference=form.bank_reference.data or "",
        )
        resolve_issue(issue, current_user, _m("Refunded: %(note)s", note=note.strip()[:1000]))
        return gettext(
            "Refund of %(amount)s booked.",
            amount=rupiah(result.refund.amount if result.refund else 0),
        )
    if action == "accept" and issue.kind == IssueKind.UNDERPAYMENT:
        services.accept_underpayment(pledge, current_user, note)
        return gettext("The short payment is accepted; the pledge is paid.")
    if action == "top_up" and issue.kind == IssueKind.UNDERPAYMENT:
        company = db.session.get_one(Company, pledge.company_id)
        payment = services.start_bank_transfer(pledge, company, current_user)
        services.ask_top_up(pledge, payment)
        return gettext("An invoice for the difference was sent to the company.")
    if action == "resolve" and issue.kind in (IssueKind.UNBOOKABLE_REFUND, IssueKind.DISPUTE):
        resolve_issue(issue, current_user, note)
        if issue.kind == IssueKind.DISPUTE and not open_issues_of(pledge.id, IssueKind.DISPUTE):
            services.release_hold(pledge, current_user)
        return gettext("Issue resolved.")
    raise IllegalPledgeTransition(issue.kind, action)


@bp.post("/staff/payment-issues/send-refunds")
@require(Permission.PAYMENT_MANAGE)
def send_refunds() -> Response:
    """Send again the card refunds Stripe has not taken yet, and expire void sessions."""
    result = outbound.sync_stripe()
    if result.errors:
        flash(gettext("Stripe refused: %(why)s", why="; ".join(map(str, result.errors))), "danger")
    else:
        flash(gettext("%(n)s refund(s) sent to Stripe.", n=result.refunds_sent), "success")
    return redirect(url_for("payments.issues"))
