"""Errors raised by account services."""


class AuthError(Exception):
    """Base for account errors; the message is safe to show."""


class InvalidCredentials(AuthError):
    """Wrong e-mail or password, or a disabled account (one generic answer for all)."""


class DuplicateEmail(AuthError):
    """An account with this e-mail address exists already."""


class WeakPassword(AuthError):
    """The new password breaks the password rules."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(", ".join(problems))
        self.problems = problems


class InvalidToken(AuthError):
    """A reset or invitation link that is wrong, expired or already used."""


class InvitationExpired(InvalidToken):
    """An invitation link older than INVITATION_DAYS."""


class InvitationReplaced(InvalidToken):
    """An invitation link that a newer invitation replaced."""


class InvitationUsed(InvalidToken):
    """An invitation link whose account has its password set already."""
