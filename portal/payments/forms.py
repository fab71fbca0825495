"""Staff payment forms: confirm a transfer by hand, import a bank statement, settle issues."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

# refund: return the issue's amount; accept: a short transfer goes ahead; top_up: invoice the
# difference; resolve: settled outside the portal (with the note saying how).
ISSUE_ACTIONS = ("refund", "accept", "top_up", "resolve")


class ConfirmTransferForm(FlaskForm):
    amount = IntegerField(
        _l("Amount received (Rp)"), validators=[InputRequired(), NumberRange(min=1)]
    )


class StatementForm(FlaskForm):
    statement = FileField(
        _l("Bank statement (CSV: date, description, amount)"),
        validators=[FileRequired(), FileAllowed(["csv", "txt"], _l("Upload a CSV file."))],
    )


class IssueForm(FlaskForm):
    """Staff settle a payment issue: the action is the button pressed."""

    action = HiddenField(validators=[DataRequired(), AnyOf(ISSUE_ACTIONS)])
    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(min=3, max=500)])
    bank_reference = StringField(
        _l("Bank refund reference"), validators=[Optional(), Length(max=80)]
    )


class RefundDecisionForm(FlaskForm):
    """A second staff member's decision on a large refund."""

    action = StringField(validators=[AnyOf(["approve", "decline"])])
    note = StringField(_l("Note (when declining)"), validators=[Optional(), Length(max=200)])
