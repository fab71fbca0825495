"""`flask match ...`: propose and approve match runs from the command line."""

from __future__ import annotations

from flask.cli import AppGroup

match_cli = AppGroup("match", help="Assign waiting workers to city quotas and paid pledges.")
