"""E-mail: rendered in the unit of work, written to the outbox, sent by a job worker.

A request never waits for the mail server: queue_mail() writes a MailRequested event in the
caller's transaction (nothing is sent for a rollback), and a worker sends it after the commit,
retrying with backoff while the server refuses (portal/jobs.py).
"""

from __future__ import annotations

import sys
from typing import Any

from flask import current_app, has_request_context
from flask_mailman import EmailMessage
from sqlalchemy.orm import Session, scoped_session

from portal.events import MailRequested, emit, handles


def queue_mail(session: Session | scoped_session[Any], to: str, subject: str, template: str,
               **context: object) -> None:
    """Render now; a worker sends it once the surrounding transaction commits."""
    if has_request_context():
        body = _render(template, context)
    else:  # CLI and jobs: links are built from PUBLIC_BASE_URL, never from a request's Host
        with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
            body = _render(template, context)
    emit(session, MailRequested(to=to, subject=subject, body=body))


def _render(template: str, context: dict[str, object]) -> str:
    """The template with the given context and the environment's globals (`_`, `config`,
    `url_for`, the filters), without the context processors of HTML pages (the current user,
    permissions, the language menu): an e-mail is about its recipient, not the request's user."""
    return current_app.jinja_env.get_template(template).render(context)


@handles(MailRequested.kind)
def send_mail(payload: dict[str, Any]) -> None:
    """Send one e-mail (SMTP with MAIL_TIMEOUT in production). Raises on a refusal, so the
    job is retried."""
    message = EmailMessage(subject=payload["subject"], body=payload["body"], to=[payload["to"]])
    message.send(fail_silently=False)
    if current_app.config.get("MAIL_PRINT"):
        print(f"[outbox] To: {payload['to']} | {payload['subject']}\n{payload['body']}",
              file=sys.stderr)
