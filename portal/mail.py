"""E-mail queued in the unit of work and sent only after it commits."""

from __future__ import annotations

import sys
from typing import Any

from flask import current_app, has_request_context
from flask_mailman import EmailMessage
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

_QUEUE_KEY = "portal_mail_queue"


def queue_mail(session: Session | scoped_session[Any], to: str, subject: str, template: str,
               **context: object) -> None:
    """Render now, send after the surrounding transaction commits (dropped on rollback)."""
    if has_request_context():
        body = _render(template, context)
    else:  # CLI: links are built from PUBLIC_BASE_URL, never from a request's Host header
        with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
            body = _render(template, context)
    message = EmailMessage(subject=subject, body=body, to=[to])
    session.info.setdefault(_QUEUE_KEY, []).append(message)


def _render(template: str, context: dict[str, object]) -> str:
    """The template with the given context and the environment's globals (`_`, `config`,
    `url_for`, the filters), without the context processors of HTML pages (the current user,
    permissions, the language menu): an e-mail is about its recipient, not the request's user."""
    return current_app.jinja_env.get_template(template).render(context)


@event.listens_for(Session, "after_commit")
def _send_queued(session: Session) -> None:
    messages = session.info.pop(_QUEUE_KEY, [])
    for message in messages:
        message.send()
        if current_app.config.get("MAIL_PRINT"):
            print(f"[outbox] To: {', '.join(message.to)} | {message.subject}\n{message.body}",
                  file=sys.stderr)


@event.listens_for(Session, "after_rollback")
def _drop_queued(session: Session) -> None:
    session.info.pop(_QUEUE_KEY, None)
