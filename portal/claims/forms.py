"""Claim forms: record one claim, upload a claim file, write and approve a claim's story."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from portal.claims.models import MAX_STORY, ClaimKind
from portal.claims.services import parse_amount
from portal.workers.nik import NikError, parse_nik

KIND_CHOICES = [
    SelectChoice(ClaimKind.JKK.value, _l("JKK: work accident")),
    SelectChoice(ClaimKind.JKM.value, _l("JKM: death")),
]


class ClaimForm(FlaskForm):
    nik = StringField(
        _l("Worker's NIK"),
        validators=[
            DataRequired(),
            Regexp(r"^[0-9]{16}$", message=_l("NIK is exactly 16 digits.")),
        ],
    )
    event_date = DateField(_l("Date of the event"), validators=[DataRequired()])
    kind = SelectField(_l("Type"), choices=KIND_CHOICES)
    amount = StringField(_l("Amount paid by BPJS TK (rupiah)"), validators=[DataRequired()])
    story = TextAreaField(
        _l("Story for sponsor reports (optional)"), validators=[Length(max=MAX_STORY)]
    )

    def validate_nik(self, field: StringField) -> None:
        try:
            parse_nik(field.data or "")
        except NikError:
            raise ValidationError(
                _l("Not a valid NIK (16 digits holding a real birth date).")
            ) from None

    def validate_event_date(self, field: DateField) -> None:
        if field.data and field.data > date.today():
            raise ValidationError(_l("The date of the event cannot be in the future."))

    def validate_amount(self, field: StringField) -> None:
        if parse_amount(field.data or "") is None:
            raise ValidationError(
                _l("Write the amount in whole rupiah above 0, e.g. 1500000 or Rp1.500.000.")
            )


class ClaimUploadForm(FlaskForm):
    claims = FileField(
        _l("Claim file (CSV)"),
        validators=[FileRequired(), FileAllowed(["csv", "txt"], _l("Upload a CSV file."))],
    )
    dry_run = BooleanField(_l("Check only (write nothing)"), default=True)


class StoryForm(FlaskForm):
    """The story for sponsors' reports: save it, or save and approve it in one step."""

    story = TextAreaField(_l("Story for sponsor reports"), validators=[Length(max=MAX_STORY)])
    save = SubmitField(_l("Save story"))
    approve = SubmitField(_l("Save and approve for sponsors"))
