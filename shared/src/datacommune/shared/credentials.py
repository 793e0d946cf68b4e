"""Organizations' token hashes, as a service other than catalog keeps them to check tokens.

catalog owns organizations and announces each with ``organization.created.v1``; ingest and
events keep a copy in their own table, so they accept uploads and edits while catalog, or the
link to it, is down. Each service declares its table from ``OrganizationRecord``.
"""

from typing import TypeVar

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from datacommune.shared import events, tokens
from datacommune.shared.problems import Unauthorized


class OrganizationRecord:
    """Columns of a service's copy of the organizations."""

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)


Org = TypeVar("Org", bound=OrganizationRecord)


async def authenticate(session: AsyncSession, model: type[Org], token: str) -> Org:
    """The organization whose token this is; a 401 problem otherwise."""
    org = await session.scalar(select(model).where(model.token_hash == tokens.hash_token(token)))
    if org is None:
        raise Unauthorized(
            "Ce jeton n'est pas reconnu. Vérifiez qu'il est complet ; s'il vient d'être créé, "
            "réessayez dans quelques secondes.",
            "This token is not recognised. Check that it is complete; if it was just created, "
            "retry in a few seconds.",
        )
    return org


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
