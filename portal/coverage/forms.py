"""Coverage forms: mark a funder's month remitted, upload the city's participants."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Regexp

from portal.coverage.city_import import MAX_IMPORT_MONTHS
from portal.coverage.remittance import MAX_REFERENCE


class RemittedForm(FlaskForm):
    reference = StringField(
        _l("Bank transfer reference"), validators=[DataRequired(), Length(max=MAX_REFERENCE)]
    )


class CityImportForm(FlaskForm):
    participants = FileField(
        _l("Participant list (CSV with a nik column)"),
        validators=[FileRequired(), FileAllowed(["csv", "txt"], _l("Upload a CSV file."))],
    )
    funder = SelectField(
        _l("Funder"),
        choices=[
            SelectChoice("apbd", _l("City budget (APBD)")),
            SelectChoice("dbhcht", _l("Tobacco excise (DBHCHT)")),
        ],
    )
    month = StringField(
        _l("First month (YYYY-MM)"),
        validators=[
            DataRequired(),
            Regexp(
                r"^[0-9]{4}-(0[1-9]|1[0-2])$",
                message=_l("Write the month as YYYY-MM, e.g. 2026-12."),
            ),
        ],
    )
    months = IntegerField(
        _l("Number of months"),
        default=1,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_IMPORT_MONTHS)],
    )
    dry_run = BooleanField(_l("Check only (write nothing)"), default=True)
