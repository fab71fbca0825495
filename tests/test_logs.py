"""No NIK or phone number in any log record: messages, arguments and tracebacks."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.logs import redact
from portal.workers.models import Worker

NIK = "3374011203850001"


def test_redact_masks_niks_and_phones_and_leaves_other_numbers():
    assert redact(f"nik={NIK};") == "nik=3374********0001;"
    assert redact("hp 081234567890 dan +6281234567890") == "hp 081*****90 dan +6281*****90"
    assert redact("job 1234567 of 33741203850001234") == "job 1234567 of 33741203850001234"


def test_a_log_record_is_redacted_in_its_message_arguments_and_traceback(caplog):
    logger = logging.getLogger("portal.test")
    with caplog.at_level(logging.INFO):
        logger.info("import of %s failed", NIK)
        try:
            raise ValueError(f"bad row {NIK}")
        except ValueError:
            logger.exception("row refused")
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert NIK not in text
    assert text.count("3374********0001") == 2


def test_a_failed_insert_logs_none_of_its_values(app, caplog):
    row = {
        "nik_hash": "x" * 64,
        "nik_encrypted": "y",
        "nik_masked": "3374********0001",
        "full_name": "Slamet Riyadi",
        "birth_date": None,  # NOT NULL: the insert fails
    }
    with caplog.at_level(logging.INFO):
        try:
            with db.session.begin_nested():
                db.session.execute(insert(Worker), [row])
        except IntegrityError:
            logging.getLogger("portal.test").exception("import failed")
        else:
            pytest.fail("the insert should have failed")
    (record,) = [r for r in caplog.records if r.name == "portal.test"]
    assert "IntegrityError" in record.exc_text
    assert "hidden due to hide_parameters" in record.exc_text  # SQLAlchemy's parameters
    assert "Slamet Riyadi" not in record.exc_text  # nor the database's own detail


def test_the_suite_fails_a_test_that_logs_a_workers_name(_no_personal_data_in_logs):
    """The guard every test runs under (tests/conftest.py) sees what a log handler sees."""
    logging.getLogger("portal.test").warning("imported Slamet Riyadi")
    logging.getLogger("portal.test").warning("imported worker 12")
    leaks = list(_no_personal_data_in_logs.leaks)
    _no_personal_data_in_logs.leaks.clear()  # this test's own leak, made on purpose
    assert len(leaks) == 1 and "Slamet Riyadi" in leaks[0]
