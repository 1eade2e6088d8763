"""The audit trail: who seeded, cancelled, resumed or cleared what, and when (``AuditEntry``).

Each lifecycle service records its own entry inside the transaction of the
action it records. Entry points say who asked with a ``Requester``: the logged-in
user for the admin and the API (a token acts as its user), the OS user for the
command.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser

from seeding.models import AuditEntry, SeedRun


@dataclass(frozen=True)
class Requester:
    source: str  # a SeedRun.Source
    user: AbstractBaseUser | None = None
    label: str = ""

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if self.user is not None:
            return self.user.get_username()
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return ""


def audit_record(*, action: str, by: Requester, summary: str, run: SeedRun | None = None) -> AuditEntry:
    return AuditEntry.objects.create(
        action=action,
        source=by.source,
        actor=by.user if by.user is not None and by.user.pk else None,
        actor_label=by.name[:150],
        run=run,
        run_number=run.pk if run is not None else None,
        summary=summary,
    )
