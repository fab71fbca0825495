"""E-mail: rendered in the unit of work, written to the outbox, sent by a job worker.

A request never waits for the mail server: queue_mail() writes a MailRequested event in the
caller's transaction (nothing is sent for a rollback), and a worker sends it after the commit,
retrying with backoff while the server refuses (portal/jobs.py).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Any

from flask import current_app, has_request_context
from flask_mailman import EmailMessage
from sqlalchemy.orm import Session, scoped_session

from portal.events import MailRequested, emit, handles

_open = threading.local()  # one SMTP connection per worker thread, reused across e-mails


def queue_mail(
    session: Session | scoped_session[Any], to: str, subject: str, template: str, **context: object
) -> None:
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
    """Send one e-mail (SMTP with MAIL_TIMEOUT in production) over the worker thread's open
    connection. Raises on a refusal (the connection is dropped), so the job is retried."""
    connection = _connection()
    message = EmailMessage(
        subject=payload["subject"], body=payload["body"], to=[payload["to"]], connection=connection
    )
    try:
        message.send(fail_silently=False)
    except Exception:
        _drop_connection()
        raise
    if current_app.config.get("MAIL_PRINT"):
        print(
            f"[outbox] To: {payload['to']} | {payload['subject']}\n{payload['body']}",
            file=sys.stderr,
        )


def _connection() -> Any:
    """The thread's open connection to the mail backend of this app (opened on first use)."""
    state = current_app.extensions["mailman"]
    key = (id(state), state.backend, state.server, state.port)
    found = getattr(_open, "connection", None)
    if found is None or getattr(_open, "key", None) != key:
        _drop_connection()
        found = state.get_connection(fail_silently=False)
        found.open()
        _open.connection, _open.key = found, key
    return found


def _drop_connection() -> None:
    found = getattr(_open, "connection", None)
    _open.connection = None
    if found is not None:
        with contextlib.suppress(Exception):  # a broken connection is replaced either way
            found.close()
