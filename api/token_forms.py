"""The form by which a user makes an API token for themselves."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from api.models import ApiToken

NEVER = "never"
EXPIRY_CHOICES = [
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
    (NEVER, "Never"),
]
MAX_NAME_LENGTH = ApiToken._meta.get_field("name").max_length


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=MAX_NAME_LENGTH,
        help_text="What the token is for, so you can tell your tokens apart (a script, a host).",
    )
    expiry = forms.ChoiceField(
        label="Expires", choices=EXPIRY_CHOICES, initial="90", widget=forms.RadioSelect
    )

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        # NUL is refused by the field itself; other control characters would only garble
        # the lists that show the name.
        if any(not character.isprintable() for character in name):
            raise forms.ValidationError(
                "A name has no control characters.", code="name_control_character"
            )
        return name

    def expires_at(self) -> dt.datetime | None:
        expiry = self.cleaned_data["expiry"]
        if expiry == NEVER:
            return None
        return timezone.now() + dt.timedelta(days=int(expiry))

    def issue(self, user) -> tuple[ApiToken, str]:
        """The new token of ``user``: its row, and the token itself (shown once)."""
        return ApiToken.issue(
            user=user, name=self.cleaned_data["name"], expires_at=self.expires_at()
        )
