"""A pooled version's file copies the bytes it keeps from the previous one (pooled_file.py):
the same bytes as a file written whole from the rows, and written from the database instead
whenever the previous file cannot be used."""

import hashlib
from pathlib import Path

from sqlalchemy import select
from structlog.testing import capture_logs

from datacommune.catalog.core import datasets
from datacommune.catalog.pooling import files
from datacommune.catalog.tables import Pool, PoolVersion, Version
from tests.catalog import test_pooling
from tests.catalog.test_pooling import FIELDS_200, POOL, Territory, publish, settle, subsidy

territory = test_pooling.territory  # the same département, communes and pooler


async def written(t: Territory) -> list[str]:
    """How each version of the département's pool made by the waiting work was written."""
    with capture_logs() as logs:
        await settle(t)
    return [e["written"] for e in logs if e["event"] == "pool_version" and e["pool"] == POOL]


async def newest(t: Territory) -> tuple[PoolVersion, Version]:
    async with t.sessions() as session:
        pool = await session.scalar(select(Pool).where(Pool.slug == POOL))
        assert pool is not None
        made = await session.scalar(
            select(PoolVersion).where(
                PoolVersion.pool_id == pool.id, PoolVersion.number == pool.number
            )
        )
        assert made is not None
        version = await session.get(Version, made.version_id)
        assert version is not None
        return made, version


async def assert_as_from_rows(t: Territory, tmp_path: Path) -> bytes:
    """The newest version's stored file is the one its rows give, byte for byte."""
    made, version = await newest(t)
    stored = await t.store.get_bytes(version.object_key)
    assert hashlib.sha256(stored).hexdigest() == version.sha256
    async with t.sessions() as session:
        sha256, size = await files.write_version(session, made, tmp_path / "from-rows.csv")
    assert (sha256, size) == (version.sha256, len(stored))
    return stored


async def test_an_update_copies_what_it_keeps_and_writes_the_same_bytes(
    territory: Territory, tmp_path: Path
) -> None:
    t = territory
    for org in ("roques", "labege", "escalquens"):
        await publish(t, org, f"subventions-{org}", [subsidy(org, n) for n in range(1, 40)])
    assert await written(t) == ["from-database"]  # the first: nothing to copy from

    # Labège (between Escalquens and Roques in the file) republishes: copied around it.
    await publish(t, "labege", "subventions-labege", [subsidy("labege", n) for n in (7, 8)])
    assert await written(t) == ["copied"]
    data = await assert_as_from_rows(t, tmp_path)
    assert data.count(b"DEL-labege-") == 2
    assert data.count(b"DEL-roques-") == 39

    # A file leaves, another joins: still copied, still the same bytes.
    await publish(t, "sicoval", "subventions-sicoval", [subsidy("sicoval", 1)])
    async with t.sessions.begin() as session:
        await datasets.withdraw(session, await datasets.get(session, "subventions-escalquens"))
    assert await written(t) == ["copied"]
    data = await assert_as_from_rows(t, tmp_path)
    assert b"DEL-escalquens-" not in data
    assert data.count(b"DEL-sicoval-") == 1

    # The previous file gone from storage: written from the database, the same bytes.
    _, version = await newest(t)
    await t.store.delete(version.object_key)
    await publish(t, "roques", "subventions-roques", [subsidy("roques", 1)])
    assert await written(t) == ["from-database"]
    await assert_as_from_rows(t, tmp_path)

    # A file on an older schema version joins: the columns stay, the rest is copied (a newer
    # version changes the header: written from the database, test_pooling's reshaping).
    await publish(
        t,
        "escalquens",
        "subventions-escalquens-2",
        [subsidy("escalquens", 1, fields=FIELDS_200)],
        version="2.0.0",
    )
    assert await written(t) == ["copied"]
    await assert_as_from_rows(t, tmp_path)
