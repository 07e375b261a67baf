"""Per-user API tokens.

A token is shown once, when it is made; the database keeps only its SHA-256 digest (a token is
32 random bytes, so a fast digest is as safe as a slow hash and costs nothing per request) and
its first characters, by which its owner tells tokens apart.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "ipamui_"
SHOWN_CHARACTERS = len(TOKEN_PREFIX) + 6  # what the token list shows of each token


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self) -> ApiTokenQuerySet:
        now = timezone.now()
        return self.filter(user__is_active=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A bearer token by which scripts act as its user, with the user's permissions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for.")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    shown = models.CharField(
        "token starts with", max_length=SHOWN_CHARACTERS, editable=False, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.shown}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @classmethod
    def issue(cls, *, user, name: str, expires_at=None) -> tuple[ApiToken, str]:
        """A new token for ``user``: the row, and the token itself (never stored)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(
            user=user,
            name=name,
            digest=digest(token),
            shown=token[:SHOWN_CHARACTERS],
            expires_at=expires_at,
        )
        return row, token

    @classmethod
    def find(cls, token: str) -> ApiToken | None:
        """The usable token row ``token`` stands for, with its user, or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200 or not token.isascii():
            return None
        return cls.objects.usable().select_related("user").filter(digest=digest(token)).first()


class IdempotentRequest(models.Model):
    """The answer to a write sent with an ``Idempotency-Key``, kept so that the same request
    sent again (a retry after a timeout) gets the same answer and changes nothing more.

    Only successes are kept: a refused request may be mended and sent again with its key.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=64)
    fingerprint = models.CharField(
        max_length=64, help_text="A digest of the method, the path and the body."
    )
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    location = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="one_answer_per_user_and_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
