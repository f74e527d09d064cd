"""Why a single sign-on did not sign anyone in: a short code for the login page's URL, a message safe to show."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "unavailable": "Single sign-on is unavailable: the identity provider did not answer. Try again shortly.",
    "state": "This sign-in could not be matched to your browser (it expired, was used twice, or was started "
             "elsewhere). Please sign in again.",
    "provider": "The identity provider did not sign you in.",
    "code": "The identity provider refused to complete the sign-in (the code was used already or expired). "
            "Please sign in again.",
    "token": "The identity provider's answer could not be verified, so nobody was signed in.",
    "groups": "Your identity provider account does not say which groups you are in, so the console cannot let "
              "you in. Ask your administrator.",
    "not_allowed": "Your account is not in a group that may use Release Console. Ask your administrator.",
    "disabled": "Your account is disabled in Release Console. Ask an admin.",
    "account": "Your account cannot sign in to Release Console (its name belongs to another account here). Ask "
               "an admin.",
    "starting": "The console is starting; try again shortly.",
}
"""The page's message for each code; the login page shows only these, never text from the URL."""


class SsoError(Exception):
    """A refused single sign-on: ``code`` is a key of MESSAGES, ``reason`` what the audit line records."""

    def __init__(self, code: str, reason: str, message: str | None = None) -> None:
        super().__init__(reason)
        self.code = code if code in MESSAGES else "provider"
        self.reason = reason
        self.message = message or MESSAGES[self.code]
