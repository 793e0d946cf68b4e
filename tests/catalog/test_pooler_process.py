"""The pooler in its own process (pooling/process.py): started, woken and heard from by
catalog, started again when it dies, gone when catalog stops it."""

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from datacommune.catalog.pooling.process import PoolerProcess
from datacommune.catalog.tables import Pool
from tests.catalog import served, test_pooling
from tests.catalog.test_pooling import POOL, Territory, publish, subsidy

territory = test_pooling.territory  # the same département, communes and store


async def number(t: Territory) -> int:
    async with t.sessions() as session:
        pool = await session.scalar(select(Pool).where(Pool.slug == POOL))
        return 0 if pool is None else pool.number


async def until(t: Territory, wanted: int, heard: list[int]) -> None:
    # That it pools, not how fast (test_pooling measures the delay): the process starts
    # within this time, and on a CI machine at load 10 that alone took 20–30 s.
    deadline = time.monotonic() + 120
    while await number(t) < wanted or len(heard) < wanted:
        assert time.monotonic() < deadline, f"no pooled version {wanted}"
        await asyncio.sleep(0.05)


@pytest.mark.e2e
async def test_the_pooler_process_pools_comes_back_when_killed_and_stops_with_catalog(
    territory: Territory, catalog_url: str, tmp_path: Path
) -> None:
    t = territory
    # Its files under tmp_path/files: the territory's store.
    settings = served.settings(catalog_url, "nats://127.0.0.1:1", tmp_path, pooler_process=True)
    heard: list[int] = []
    pooler = PoolerProcess(settings, on_version=lambda: heard.append(1))
    running = asyncio.create_task(pooler.run())
    try:
        await publish(t, "roques", "subventions-roques", [subsidy("roques", 1)])
        pooler.wake()
        await until(t, 1, heard)

        # Killed: catalog starts another, which does the next update.
        first = pooler.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        await publish(t, "labege", "subventions-labege", [subsidy("labege", 1)])
        deadline = time.monotonic() + 30
        while pooler.pid in (None, first):
            assert time.monotonic() < deadline, "the pooler was not started again"
            await asyncio.sleep(0.05)
        pooler.wake()
        await until(t, 2, heard)
    finally:
        second = pooler.pid
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    # Stopped with catalog: its input closed, it left.
    assert second is not None
    try:
        os.kill(second, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError("the pooler process outlived catalog's stop")
