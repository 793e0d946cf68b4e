"""What events does with other services' events: it keeps a copy of organizations (with their
territory) and of tokens, to authorize calls without asking catalog."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.events.tables import Organization, Token
from datacommune.shared import credentials, events
from datacommune.shared.bus import Bus

DURABLE = "events"


async def subscribe(bus: Bus, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Attach events' durable consumers; both handlers are idempotent."""

    async def on_organization(event: events.AnyEvent) -> None:
        assert isinstance(event, events.OrganizationCreated)
        async with sessionmaker.begin() as session:
            await credentials.record(session, Organization, event)
            org = await session.get(Organization, event.organization)
            assert org is not None
            org.parent = event.parent

    async def on_token(event: events.AnyEvent) -> None:
        async with sessionmaker.begin() as session:
            await credentials.apply(session, event, tokens_model=Token)

    await bus.subscribe(DURABLE, on_organization, "organization.created.v1")
    await bus.subscribe(DURABLE, on_token, "token.issued.v1", "token.revoked.v1")
