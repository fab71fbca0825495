"""Paying a pledge (Stripe Checkout or transfer), the Stripe webhook, documents as PDFs."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from portal.auth.forms import ConfirmForm
from portal.auth.permissions import Permission, can
from portal.companies.models import Company
from portal.extensions import csrf, db, login_manager
from portal.i18n import current_locale
from portal.payments import services
from portal.payments.documents import BankDetails, render_invoice_pdf, render_receipt_pdf
from portal.payments.exceptions import AmountNotAllowed, GatewayError, InvalidWebhook
from portal.payments.models import Document, DocumentKind, Payment
from portal.payments.stripe_gateway import gateway
from portal.payments.webhooks import event_recorded, handle_stripe_event
from portal.pledges.exceptions import CompanyNotVerified, IllegalPledgeTransition
from portal.pledges.models import Pledge
from portal.security import load_owned, require

bp = Blueprint("payments", __name__)


@bp.post("/payments/stripe/webhook")
@csrf.exempt
def stripe_webhook():  # type: ignore[no-untyped-def]
    """Signature checked on the raw body; the event id is stored before anything is done."""
    try:
        event = gateway().construct_event(request.get_data(), request.headers.get(
            "Stripe-Signature"))
    except InvalidWebhook:
        return jsonify({"error": "invalid signature"}), 400
    try:
        outcome = handle_stripe_event(event)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not event_recorded(event["id"]):
            raise  # not a twin delivery: answer 500, so that Stripe delivers it again
        outcome = "duplicate"  # the same event was handled at the same moment elsewhere
    return jsonify({"received": True, "outcome": outcome})


@bp.post("/pledges/<int:pledge_id>/pay/stripe")
@require(Permission.PLEDGE_MANAGE)
def pay_stripe(pledge_id: int):  # type: ignore[no-untyped-def]
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    base = current_app.config["PUBLIC_BASE_URL"]
    try:
        payment = services.start_stripe_payment(
            pledge, db.session.get(Company, pledge.company_id), current_user,
            success_url=base + url_for("payments.returned", pledge_id=pledge.id),
            cancel_url=base + url_for("pledges.detail", pledge_id=pledge.id))
    except AmountNotAllowed:
        flash(gettext("This amount cannot be paid by card; pay by bank transfer."), "warning")
    except (CompanyNotVerified, IllegalPledgeTransition):
        flash(gettext("This pledge cannot be paid now."), "warning")
    except GatewayError as error:
        db.session.rollback()
        flash(gettext("The card payment could not start: %(why)s", why=str(error)), "danger")
    else:
        db.session.commit()
        return redirect(payment.checkout_url or url_for("pledges.detail", pledge_id=pledge.id),
                        code=303)
    return redirect(url_for("pledges.detail", pledge_id=pledge.id))


@bp.post("/pledges/<int:pledge_id>/pay/transfer")
@require(Permission.PLEDGE_MANAGE)
def pay_transfer(pledge_id: int):  # type: ignore[no-untyped-def]
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.start_bank_transfer(pledge, db.session.get(Company, pledge.company_id),
                                     current_user)
    except (CompanyNotVerified, IllegalPledgeTransition):
        flash(gettext("This pledge cannot be paid now."), "warning")
    else:
        db.session.commit()
        flash(gettext("Your invoice is ready. Transfer the exact amount with the reference "
                      "in the description."), "success")
    return redirect(url_for("pledges.detail", pledge_id=pledge.id))


@bp.get("/pledges/<int:pledge_id>/paid")
@require(Permission.PLEDGE_VIEW)
def returned(pledge_id: int):  # type: ignore[no-untyped-def]
    """Where Stripe Checkout sends the sponsor back; the webhook decides what is paid."""
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_VIEW)
    return render_template("payments/returned.html", pledge=pledge)


@bp.get("/documents/<int:document_id>.pdf")
def document_pdf(document_id: int):  # type: ignore[no-untyped-def]
    """The company's own documents for its users; every document for payment staff."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    document = db.session.get(Document, document_id)
    if document is None or not _may_read(document):
        abort(404)
    payment = db.session.get(Payment, document.payment_id)
    pledge = db.session.get(Pledge, payment.pledge_id)
    company = db.session.get(Company, document.company_id)
    if document.kind == DocumentKind.INVOICE:
        body = render_invoice_pdf(document, payment, pledge, company,
                                  BankDetails.from_config(current_app.config), current_locale())
    else:
        body = render_receipt_pdf(document, payment, pledge, company, current_locale())
    name = document.serial.replace("/", "-")
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}.pdf"', "Cache-Control": "no-store"})


def _may_read(document: Document) -> bool:
    return can(current_user, Permission.PAYMENT_MANAGE) or can(
        current_user, Permission.PLEDGE_VIEW, document)

