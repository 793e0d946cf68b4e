"""What ingest learns from the other services: organizations, validation and publication."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.ingest import known_schemas, progress
from datacommune.ingest.tables import Delegation, Organization, Token
from datacommune.shared import credentials, events
from datacommune.shared.bus import Batch, Bus

DURABLE = "ingest"
# What ingest follows; on the hub, also what is sent on to each node, whose ingest follows the
# same (federation.py).
FOLLOWED = (
    "organization.created.v1",
    "token.issued.v1",
    "token.revoked.v1",
    "delegation.granted.v1",
    "delegation.revoked.v1",
    "file.validation_started.v1",
    "file.validated.v1",
    "resource.published.v1",
    "release.opened.v1",
    "release.held.v1",
    "release.planned.v1",
    "upload.rejected.v1",
    "schemas.announced.v1",
)


async def subscribe(bus: Bus, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Attach ingest's durable consumers; every handler is idempotent."""

    async def handle(batch: Batch) -> None:
        # What is waiting is applied in one transaction (an upload's progress is three events,
        # and a backlog brings many); if one fails, the bus hands each over again alone.
        async with sessionmaker.begin() as session:
            for event in batch:
                await apply(session, event)

    await bus.subscribe_batches(DURABLE, handle, *FOLLOWED, batch=32)


async def apply(session: AsyncSession, event: events.AnyEvent) -> None:
    """Apply one event to ingest's tables."""
    match event:
        case events.OrganizationCreated():
            await credentials.record(session, Organization, event)
        case (
            events.TokenIssued()
            | events.TokenRevoked()
            | events.DelegationGranted()
            | events.DelegationRevoked()
        ):
            await credentials.apply(
                session, event, tokens_model=Token, delegations_model=Delegation
            )
        case events.FileValidationStarted():
            await progress.advance(session, event.upload_id, "validating")
        case events.FileValidated():
            await progress.advance(
                session,
                event.upload_id,
                "valid" if event.publishable else "invalid",
                report_key=event.report_key,
                report_renditions=event.renditions,
                summary=event.summary.model_dump(),
            )
        case events.ResourcePublished():
            public = event.public or (
                event.release_id is not None
                and await progress.opened_already(session, event.release_id, event.organization)
            )
            await progress.settle(
                session,
                event.upload_id,
                "published" if public else "scheduled",
                download_url=event.download_url,
                release_id=event.release_id,
            )
        case events.ReleaseOpened():
            await progress.release_opened(session, event)
        case events.ReleaseHeld():
            await progress.release_held(session, event.release_id, event.reason)
        case events.ReleasePlanned():
            await progress.release_planned(session, event)
        case events.UploadRejected():
            await progress.settle(session, event.upload_id, "rejected", detail=event.detail)
        case events.SchemasAnnounced():
            await known_schemas.record(session, event)
