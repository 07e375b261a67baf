from __future__ import annotations

import itertools
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a first superuser, 'admin', with a generated password, if there is none."

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            return
        # An ordinary user may already be called "admin": never promote it, take a free name.
        taken = set(
            users.objects.filter(username__startswith="admin").values_list("username", flat=True)
        )
        names = itertools.chain(["admin"], (f"admin{n}" for n in itertools.count(2)))
        username = next(name for name in names if name not in taken)
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username, "", password)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created the first admin user.\n  username: {username}\n  password: {password}\n"
                "This password is shown only once; change it in the admin site."
            )
        )
