"""Organizations' token hashes, as a service other than catalog keeps them to check tokens.

catalog owns organizations and announces each with ``organization.created.v1``; ingest and
events keep a copy in their own table, so they accept uploads and edits while catalog, or the
link to it, is down. Each service declares its table from ``OrganizationRecord``.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from datacommune.shared import events, tokens
from datacommune.shared.db import UTCDateTime
from datacommune.shared.problems import Forbidden, Unauthorized


class OrganizationRecord:
    """Columns of a service's copy of the organizations."""

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)


Org = TypeVar("Org", bound=OrganizationRecord)

# What each role may do: a viewer reads its organization's uploads, reports and plans; a
# publisher also uploads, describes datasets and plans releases; an admin also manages tokens
# and delegations, and may publish for the organizations that delegated it.
ROLES = ("viewer", "publisher", "admin")
RANK = {role: n for n, role in enumerate(ROLES)}


class TokenRecord:
    """Columns of a token as every service keeps it: its hash, never the token."""

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    organization: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DelegationRecord:
    """An organization (a commune) lets another (its EPCI, its département) publish for it."""

    organization: Mapped[str] = mapped_column(String(64), primary_key=True)
    delegate: Mapped[str] = mapped_column(String(64), primary_key=True)
    # When it was last granted and withdrawn (by the events' times): the later one wins, so
    # the two events may be applied in either order.
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.revoked_at is None or (
            self.granted_at is not None and self.granted_at > self.revoked_at
        )


@dataclass(frozen=True)
class Principal(Generic[Org]):
    """Who a request is: an organization, with a role, through one of its tokens."""

    organization: Org
    role: str
    token_id: uuid.UUID | None

    @property
    def slug(self) -> str:
        return self.organization.slug


def _unknown() -> Unauthorized:
    return Unauthorized(
        "Ce jeton n'est pas reconnu. Vérifiez qu'il est complet ; s'il vient d'être créé, "
        "réessayez dans quelques secondes.",
        "This token is not recognised. Check that it is complete; if it was just created, "
        "retry in a few seconds.",
    )


async def authenticate(
    session: AsyncSession,
    model: type[Org],
    token: str,
    *,
    tokens_model: type[TokenRecord] | None = None,
    need: str = "publisher",
) -> Principal[Org]:
    """Who holds this token, if it is valid (known, not expired, not revoked) and its role
    allows ``need``; a 401 or 403 problem otherwise, saying which and what to do."""
    digest = tokens.hash_token(token)
    if tokens_model is not None:
        found = await session.get(tokens_model, digest)
        if found is not None:
            if found.revoked_at is not None:
                raise Unauthorized(
                    "Ce jeton a été révoqué : demandez-en un nouveau à l'administrateur de "
                    "votre organisation.",
                    "This token was revoked: ask your organization's administrator for a new one.",
                )
            if found.expires_at is not None and found.expires_at <= datetime.now(UTC):
                raise Unauthorized(
                    f"Ce jeton a expiré le {found.expires_at:%d/%m/%Y à %H:%M} (UTC) : demandez-en "
                    "un nouveau à l'administrateur de votre organisation.",
                    f"This token expired on {found.expires_at:%Y-%m-%d %H:%M} UTC: ask your "
                    "organization's administrator for a new one.",
                )
            org = await session.get(model, found.organization)
            if org is None:
                raise _unknown()
            principal = Principal(org, found.role, found.token_id)
            _require(principal, need)
            return principal
    # The token an organization was created with, known before tokens had their own table.
    org = await session.scalar(select(model).where(model.token_hash == digest))
    if org is None:
        raise _unknown()
    return Principal(org, "admin", None)


def _require(principal: Principal[Any], need: str) -> None:
    if RANK[principal.role] < RANK[need]:
        raise Forbidden(
            f"Ce jeton est « {principal.role} » : il faut le rôle « {need} » pour cela. "
            "Demandez un jeton de ce rôle à l'administrateur de votre organisation.",
            f"This token's role is {principal.role!r}: this needs {need!r}. Ask your "
            "organization's administrator for such a token.",
        )


async def acting_for(
    session: AsyncSession,
    principal: Principal[Any],
    target: str | None,
    delegations_model: type[DelegationRecord],
) -> str:
    """The organization a request acts for: its own, or one that delegated publishing to the
    principal's organization (then an admin token is needed)."""
    if target is None or target == principal.slug:
        return principal.slug
    delegated = await session.get(delegations_model, (target, principal.slug))
    if delegated is None or not delegated.active:
        raise Forbidden(
            f"L'organisation « {target} » n'a pas délégué la publication à « {principal.slug} ».",
            f"The organization {target!r} has not delegated publishing to {principal.slug!r}.",
            organization=target,
        )
    _require(principal, "admin")
    return target


async def apply(
    session: AsyncSession,
    event: events.AnyEvent,
    *,
    tokens_model: type[TokenRecord],
    delegations_model: type[DelegationRecord] | None = None,
) -> None:
    """Keep this service's copy of tokens and delegations. Idempotent, and commutative: each
    event type has its own consumer, so a revocation may arrive before the issue it revokes
    (a retry, a replay on a new node) and must still win."""
    match event:
        case events.TokenIssued():
            found = await session.get(tokens_model, event.token_hash)
            if found is None:
                found = tokens_model()
                found.token_hash = event.token_hash
                session.add(found)
            # Never un-revokes: a revocation applied first stays.
            found.token_id = event.token_id
            found.organization = event.organization
            found.role = event.role
            found.expires_at = event.expires_at
        case events.TokenRevoked():
            found = await session.scalar(
                select(tokens_model).where(tokens_model.token_id == event.token_id)
            )
            if found is None and event.token_hash:
                found = await session.get(tokens_model, event.token_hash)
            if found is None and event.token_hash:
                # Not issued here yet: a revoked placeholder, which the issue will not undo.
                found = tokens_model()
                found.token_hash = event.token_hash
                found.token_id = event.token_id
                found.organization = event.organization
                found.role = "viewer"
                session.add(found)
            if found is not None and found.revoked_at is None:
                found.revoked_at = event.time
        case events.DelegationGranted() | events.DelegationRevoked() if delegations_model:
            row = await session.get(delegations_model, (event.organization, event.delegate))
            if row is None:
                row = delegations_model()
                row.organization, row.delegate = event.organization, event.delegate
                session.add(row)
            if isinstance(event, events.DelegationGranted):
                if row.granted_at is None or row.granted_at < event.time:
                    row.granted_at = event.time
            elif row.revoked_at is None or row.revoked_at < event.time:
                row.revoked_at = event.time


async def record(
    session: AsyncSession, model: type[OrganizationRecord], event: events.OrganizationCreated
) -> None:
    """Keep an organization's name and token hash (idempotent: applying it twice is once)."""
    org = await session.get(model, event.organization)
    if org is None:
        org = model()
        org.slug = event.organization
        session.add(org)
    org.name, org.token_hash = event.name, event.token_hash
