"""What events does with other services' events: it keeps a copy of organizations (with their
territory) and of tokens, to authorize calls without asking catalog, and notes which versions
catalog holds for each release, so a release says what it will open."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.events.tables import Organization, ReleaseContent, Token
from datacommune.shared import credentials, events
from datacommune.shared.bus import Bus
from datacommune.shared.db import insert_ignoring

DURABLE = "events"


async def subscribe(bus: Bus, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Attach events' durable consumers; every handler is idempotent."""

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

    async def on_published(event: events.AnyEvent) -> None:
        assert isinstance(event, events.ResourcePublished)
        if event.release_id is None:
            return  # public at once: no release waits for it
        async with sessionmaker.begin() as session:
            values = {
                "version_id": event.version_id,
                "release_id": event.release_id,
                "organization": event.organization,
                "dataset": event.dataset,
                "download_url": event.download_url,
            }
            await insert_ignoring(session, ReleaseContent, values, keys=["version_id"])

    await bus.subscribe(DURABLE, on_organization, "organization.created.v1")
    await bus.subscribe(DURABLE, on_published, "resource.published.v1")
    await bus.subscribe(DURABLE, on_token, "token.issued.v1", "token.revoked.v1")
