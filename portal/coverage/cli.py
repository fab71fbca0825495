"""`flask coverage ...` and `flask remittance ...`: month close and files for BPJS TK."""

from __future__ import annotations

from flask.cli import AppGroup

coverage_cli = AppGroup("coverage", help="Coverage months: close, city participants, renewals.")
remittance_cli = AppGroup("remittance", help="Monthly remittance files for BPJS TK.")
