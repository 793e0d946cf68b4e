"""Both ObjectStore backends, against a local folder and a real S3 server."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from datacommune.shared.settings import StorageSettings
from datacommune.shared.storage import ObjectMissing, ObjectStore, check_key, open_store
from tests.servers import S3Server


@pytest.fixture(params=["local", "s3"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_server: S3Server
) -> AsyncIterator[ObjectStore]:
    if request.param == "local":
        yield await open_store(StorageSettings(backend="local", root=tmp_path / "files"))
    else:
        # A fresh bucket per test.
        env = s3_server.env(f"t-{uuid.uuid4().hex[:12]}")
        yield await open_store(
            StorageSettings(
                backend="s3",
                endpoint=env["STORAGE__ENDPOINT"],
                access_key=env["STORAGE__ACCESS_KEY"],
                secret_key=env["STORAGE__SECRET_KEY"],
                bucket=env["STORAGE__BUCKET"],
            )
        )


async def test_file_round_trip_streams_the_exact_bytes(store: ObjectStore, tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000  # 1.28 MB, several chunks
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    await store.put_file("files/sha256/ab/abc", source, media_type="text/csv")
    assert await store.exists("files/sha256/ab/abc")
    assert await store.size("files/sha256/ab/abc") == len(data)
    chunks = [chunk async for chunk in store.stream("files/sha256/ab/abc")]
    assert len(chunks) > 1
    assert b"".join(chunks) == data
    copy = tmp_path / "copy.bin"
    await store.download("files/sha256/ab/abc", copy)
    assert copy.read_bytes() == data


async def test_a_moved_file_is_stored_and_consumed(store: ObjectStore, tmp_path: Path) -> None:
    """A file made to be stored (a pooled version's) is moved, not copied, where it can be."""
    data = b"a;b\r\n" * 100_000
    source = tmp_path / "made.csv"
    source.write_bytes(data)
    await store.move_file("files/sha256/ef/efa", source, media_type="text/csv")
    assert not source.exists()
    assert b"".join([c async for c in store.stream("files/sha256/ef/efa")]) == data


@pytest.mark.parametrize(
    ("start", "length"),
    [(0, 1), (1000, 300_000), (600_000, None), (1_279_999, 1), (262_144, 262_144)],
)
async def test_a_part_streams_exactly_its_bytes(
    store: ObjectStore, tmp_path: Path, start: int, length: int | None
) -> None:
    """What a Range request reads: ``length`` bytes from ``start``, across chunk boundaries."""
    data = bytes(range(256)) * 5000
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    await store.put_file("files/sha256/cd/cde", source, media_type="application/octet-stream")
    chunks = [c async for c in store.stream("files/sha256/cd/cde", start=start, length=length)]
    assert b"".join(chunks) == data[start : None if length is None else start + length]


async def test_small_objects_and_deletion(store: ObjectStore) -> None:
    await store.put_bytes("reports/r.json", b'{"valid": true}', media_type="application/json")
    assert await store.get_bytes("reports/r.json") == b'{"valid": true}'
    await store.delete("reports/r.json")
    assert not await store.exists("reports/r.json")
    with pytest.raises(ObjectMissing):
        await store.get_bytes("reports/r.json")
    await store.ping()


@pytest.mark.parametrize("key", ["../etc/passwd", "a/../../b", "/abs", "a//b", "a\x00b", ""])
def test_keys_that_could_escape_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="invalid object key"):
        check_key(key)


async def test_services_starting_together_share_one_new_bucket(s3_server: S3Server) -> None:
    env = s3_server.env(f"race-{uuid.uuid4().hex[:10]}")
    settings = StorageSettings(
        backend="s3",
        endpoint=env["STORAGE__ENDPOINT"],
        access_key=env["STORAGE__ACCESS_KEY"],
        secret_key=env["STORAGE__SECRET_KEY"],
        bucket=env["STORAGE__BUCKET"],
    )
    stores = await asyncio.gather(*(open_store(settings) for _ in range(8)))
    for store in stores:
        await store.ping()
