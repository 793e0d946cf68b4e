"""Tokens and delegations as a service keeps them: whatever order their events arrive in, a
revocation wins over the issue it revokes, and the latest of a grant and a withdrawal wins."""

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.ingest.tables import Delegation, Organization, Token
from datacommune.shared import credentials, events, tokens
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.problems import Forbidden, Unauthorized
from datacommune.shared.settings import DatabaseSettings
from tests import servers

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def ingest_url(migrated: servers.MigratedDatabases, tmp_path: Path) -> Iterator[str]:
    with migrated.database("ingest", "sqlite", tmp_path) as url:
        yield url


@pytest.fixture
async def sessions(ingest_url: str) -> AsyncIterator[Sessions]:
    url = ingest_url
    engine = make_engine(DatabaseSettings(url=url))
    maker = make_sessionmaker(engine)
    async with maker.begin() as session:
        for slug in ("roques", "sicoval"):
            session.add(Organization(slug=slug, name=slug, token_hash=tokens.hash_token(slug)))
    yield maker
    await engine.dispose()


async def apply(sessions: Sessions, event: events.AnyEvent) -> None:
    async with sessions.begin() as session:
        await credentials.apply(session, event, tokens_model=Token, delegations_model=Delegation)


async def check(sessions: Sessions, token: str) -> str:
    async with sessions() as session:
        principal = await credentials.authenticate(
            session, Organization, token, tokens_model=Token, need="viewer"
        )
        return principal.role


async def test_a_revocation_before_its_issue_still_wins(sessions: Sessions) -> None:
    token, token_id = "dc_secret", uuid.uuid4()
    issued = events.TokenIssued(
        source="catalog",
        token_id=token_id,
        organization="roques",
        role="admin",
        token_hash=tokens.hash_token(token),
    )
    revoked = events.TokenRevoked(
        source="catalog",
        token_id=token_id,
        organization="roques",
        token_hash=tokens.hash_token(token),
    )
    await apply(sessions, revoked)
    await apply(sessions, issued)
    await apply(sessions, issued)  # a replay changes nothing
    with pytest.raises(Unauthorized, match="revoked"):
        await check(sessions, token)


async def test_a_revoked_creation_token_is_refused_not_taken_for_the_old_one(
    sessions: Sessions,
) -> None:
    # The token an organization was created with is known here only from its organization…
    assert await check(sessions, "roques") == "admin"
    # …until its revocation arrives, which names its hash.
    await apply(
        sessions,
        events.TokenRevoked(
            source="catalog",
            token_id=uuid.uuid4(),
            organization="roques",
            token_hash=tokens.hash_token("roques"),
        ),
    )
    with pytest.raises(Unauthorized, match="revoked"):
        await check(sessions, "roques")


async def test_the_latest_of_a_grant_and_a_withdrawal_wins(sessions: Sessions) -> None:
    def grant(at: datetime) -> events.DelegationGranted:
        return events.DelegationGranted(
            source="catalog", time=at, organization="roques", delegate="sicoval"
        )

    withdraw = events.DelegationRevoked(
        source="catalog", time=T0 + timedelta(hours=2), organization="roques", delegate="sicoval"
    )
    await apply(sessions, withdraw)
    await apply(sessions, grant(T0 + timedelta(hours=1)))  # older: stays withdrawn
    async with sessions() as session:
        principal = await credentials.authenticate(
            session, Organization, "sicoval", tokens_model=Token, need="viewer"
        )
        with pytest.raises(Forbidden):
            await credentials.acting_for(session, principal, "roques", Delegation)
    await apply(sessions, grant(T0 + timedelta(hours=3)))  # granted again, later
    async with sessions() as session:
        assert await credentials.acting_for(session, principal, "roques", Delegation) == "roques"
