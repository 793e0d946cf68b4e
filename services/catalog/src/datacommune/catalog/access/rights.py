"""Who may do what: tokens with a role and an expiry, and delegations between organizations.

catalog is where tokens are issued and revoked; every service that checks tokens keeps a copy
of their hashes from ``token.issued.v1`` / ``token.revoked.v1`` (and delegations from
``delegation.*.v1``), so an ingest node checks a token with its link to the hub down. A token
revoked while a node is cut off still opens that node until the revocation reaches it; an
expired one is refused everywhere at once (the expiry travels with the token).
"""

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog import problems
from datacommune.catalog.tables import Delegation, Organization, Outbox, Token
from datacommune.shared import events, tokens
from datacommune.shared.fields import Instant, Line, OrganizationSlug
from datacommune.shared.outbox import announcement_id, enqueue, enqueue_once, utcnow
from datacommune.shared.problems import Forbidden, Problem

Role = Literal["viewer", "publisher", "admin"]


class TokenIn(BaseModel):
    """A token to issue."""

    role: Role = "publisher"
    label: Line = Field(default="", max_length=200, examples=["secrétariat de mairie"])
    expires_in_days: int | None = Field(default=365, ge=1, le=3650, description="Vide : jamais")
    expires_at: Instant | None = Field(
        default=None, description="Ou bien cet instant précis (remplace expires_in_days)"
    )

    @field_validator("expires_at")
    @classmethod
    def in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and (value.tzinfo is None or value <= utcnow()):
            raise ValueError("expires_at must be a future instant with its offset")
        return value


class DelegationIn(BaseModel):
    """The organization (EPCI, département) that may publish for this one."""

    delegate: OrganizationSlug = Field(examples=["sicoval"])


class NotAbove(Problem):
    type = "/problems/not-a-territory-above"
    title = "Délégation impossible"
    title_en = "Delegation not allowed"
    status = 422


def issue(
    session: AsyncSession,
    organization: str,
    data: TokenIn,
    *,
    source: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A new token for ``organization``; the token is in the answer, and only there."""
    secret = tokens.new_token()
    now = now or utcnow()
    token = Token(
        token_hash=tokens.hash_token(secret),
        token_id=uuid.uuid4(),
        organization=organization,
        role=data.role,
        label=data.label,
        expires_at=data.expires_at
        or (now + timedelta(days=data.expires_in_days) if data.expires_in_days else None),
        created_at=now,
    )
    session.add(token)
    enqueue(session, Outbox, _issued(token, source))
    return {**describe(token), "token": secret}


def _issued(token: Token, source: str) -> events.TokenIssued:
    return events.TokenIssued(
        source=source,
        token_id=token.token_id,
        organization=token.organization,
        role=token.role,
        token_hash=token.token_hash,
        expires_at=token.expires_at,
    )


def first_token(session: AsyncSession, org: Organization, *, source: str) -> None:
    """The admin token an organization is created with, as a token of the table."""
    token = Token(
        token_hash=org.token_hash,
        token_id=uuid.uuid4(),
        organization=org.slug,
        role="admin",
        label="jeton de création",
        created_at=utcnow(),
    )
    session.add(token)
    enqueue(session, Outbox, _issued(token, source))


def describe(token: Token) -> dict[str, Any]:
    """A token as its organization sees it: never the token itself."""
    return {
        "id": str(token.token_id),
        "organization": token.organization,
        "role": token.role,
        "label": token.label,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


async def list_tokens(session: AsyncSession, organization: str) -> list[Token]:
    rows = await session.scalars(
        select(Token).where(Token.organization == organization).order_by(Token.created_at)
    )
    return list(rows.all())


async def revoke(
    session: AsyncSession, organization: str, token_id: uuid.UUID, *, source: str
) -> None:
    """Revoke one of the organization's tokens (idempotent)."""
    token = await session.scalar(
        select(Token).where(Token.token_id == token_id, Token.organization == organization)
    )
    if token is None:
        raise problems.token_not_found()
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        enqueue(
            session,
            Outbox,
            events.TokenRevoked(
                source=source,
                token_id=token.token_id,
                organization=organization,
                token_hash=token.token_hash,
            ),
        )


async def _above(session: AsyncSession, organization: str) -> list[str]:
    """The territories above an organization: its EPCI, its département…"""
    chain: list[str] = []
    current = await session.get(Organization, organization)
    while current is not None and current.parent and current.parent not in chain:
        chain.append(current.parent)
        current = await session.get(Organization, current.parent)
    return chain


async def delegate(
    session: AsyncSession, organization: str, data: DelegationIn, *, source: str
) -> dict[str, Any]:
    """Let a territory above ``organization`` publish for it (idempotent)."""
    if data.delegate not in await _above(session, organization):
        raise NotAbove(
            f"« {data.delegate} » n'est pas un territoire au-dessus de « {organization} » (son "
            "EPCI, son département) : seul un territoire dont elle est membre peut publier pour "
            "elle.",
            f"{data.delegate!r} is not a territory above {organization!r}.",
        )
    if await session.get(Delegation, (organization, data.delegate)) is None:
        session.add(
            Delegation(organization=organization, delegate=data.delegate, granted_at=utcnow())
        )
        enqueue(
            session,
            Outbox,
            events.DelegationGranted(
                source=source, organization=organization, delegate=data.delegate
            ),
        )
    return {"organization": organization, "delegate": data.delegate}


async def undelegate(
    session: AsyncSession, organization: str, delegate_slug: str, *, source: str
) -> None:
    found = await session.get(Delegation, (organization, delegate_slug))
    if found is not None:
        await session.delete(found)
        enqueue(
            session,
            Outbox,
            events.DelegationRevoked(
                source=source, organization=organization, delegate=delegate_slug
            ),
        )


async def delegations(session: AsyncSession, organization: str) -> list[str]:
    rows = await session.scalars(
        select(Delegation.delegate).where(Delegation.organization == organization)
    )
    return sorted(rows.all())


def only_own(acting: str, organization: str) -> None:
    """A token acts on its own organization only."""
    if acting != organization:
        raise Forbidden(
            f"Ce jeton est celui de « {acting} », pas de « {organization} ».",
            f"This token belongs to {acting!r}, not {organization!r}.",
        )


# Namespace of re-announcement ids. Each id is derived from what the event says
# (``announcement_id``): announcing an unchanged organization, token or delegation again is one
# outbox row (and, inside JetStream's duplicate window, one message); a change is a new id.
_ANNOUNCED = uuid.UUID("7c1e9a2b-4d3f-4b8e-9f60-2a5d8c3e1b47")


async def _again(session: AsyncSession, key: str, event: events.Event) -> bool:
    event = event.model_copy(update={"id": announcement_id(_ANNOUNCED, key, event)})
    return await enqueue_once(session, Outbox, event)


def organization_created(org: Organization, source: str) -> events.OrganizationCreated:
    """The event that tells the other services of an organization (and its first token)."""
    return events.OrganizationCreated(
        source=source,
        organization=org.slug,
        name=org.name,
        kind=org.kind,
        siren=org.siren,
        insee_code=org.insee_code,
        token_hash=org.token_hash,
        parent=org.parent,
    )


async def announce_all(session: AsyncSession, *, source: str) -> int:
    """Announce again every organization, token and delegation as it stands; return how many
    announcements were new (an unchanged state already in the outbox adds nothing).

    Streams keep events 30 days; a service that starts later (a new ingest node, a rebuilt
    database) or lost an event would otherwise never learn of older organizations and tokens,
    or of a revocation. catalog does this when it starts, as often as it restarts, one replica
    or several at once; every service applies it idempotently, and a revocation always wins
    over an issue.
    """
    count = 0
    for org in (await session.scalars(select(Organization))).all():
        count += await _again(
            session, f"organization:{org.slug}", organization_created(org, source)
        )
    for token in (await session.scalars(select(Token))).all():
        count += await _again(session, f"token:{token.token_id}:issued", _issued(token, source))
        if token.revoked_at is not None:
            count += await _again(
                session,
                # The instant is part of what is said: a revocation wins by it.
                f"token:{token.token_id}:revoked:{token.revoked_at.isoformat()}",
                events.TokenRevoked(
                    source=source,
                    time=token.revoked_at,
                    token_id=token.token_id,
                    organization=token.organization,
                    token_hash=token.token_hash,
                ),
            )
    for delegation in (await session.scalars(select(Delegation))).all():
        count += await _again(
            session,
            f"delegation:{delegation.organization}:{delegation.delegate}:{delegation.granted_at}",
            events.DelegationGranted(
                source=source,
                time=delegation.granted_at or utcnow(),
                organization=delegation.organization,
                delegate=delegation.delegate,
            ),
        )
    return count
