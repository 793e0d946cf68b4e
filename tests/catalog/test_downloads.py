"""Downloads are counted per version and per day, exactly, under concurrency, with no one's data."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.core import downloads_count
from datacommune.catalog.tables import Dataset, Organization, Resource, Version
from datacommune.shared import tokens
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.settings import DatabaseSettings
from tests.platform import Running


@pytest.fixture
async def version(
    catalog_url: str,
) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], uuid.UUID]]:
    engine = make_engine(DatabaseSettings(url=catalog_url))
    sessionmaker = make_sessionmaker(engine)
    version_id = uuid.uuid4()
    async with sessionmaker.begin() as session:
        session.add(
            Organization(
                slug="roques", name="Roques", kind="commune", token_hash=tokens.hash_token("x")
            )
        )
        await session.flush()
        dataset = Dataset(slug="d", organization="roques", title="D")
        session.add(dataset)
        await session.flush()
        resource = Resource(dataset_id=dataset.id, key="r", title="r")
        session.add(resource)
        await session.flush()
        session.add(
            Version(
                id=version_id,
                resource_id=resource.id,
                number=1,
                upload_id=uuid.uuid4(),
                object_key="k",
                sha256="0" * 64,
                size=1,
                filename="f.csv",
                media_type="text/csv",
                valid=True,
                report_key="r",
            )
        )
    yield sessionmaker, version_id
    await engine.dispose()


async def test_concurrent_downloads_are_all_counted(
    version: tuple[async_sessionmaker[AsyncSession], uuid.UUID],
) -> None:
    sessionmaker, version_id = version

    async def one(day: date) -> None:
        async with sessionmaker.begin() as session:
            await downloads_count.count(session, version_id, day)

    await asyncio.gather(*(one(date(2026, 11, 26)) for _ in range(20)), one(date(2026, 11, 27)))
    async with sessionmaker() as session:
        assert await downloads_count.totals(session, [version_id]) == {version_id: 21}
        assert await downloads_count.per_day(session, version_id) == [
            {"day": "2026-11-26", "count": 20},
            {"day": "2026-11-27", "count": 1},
        ]
        columns = await session.run_sync(
            lambda s: [c["name"] for c in inspect(s.connection()).get_columns("download_counts")]
        )
    assert columns == ["version_id", "day", "count"]  # nothing about who downloaded


@pytest.mark.e2e
def test_downloads_through_the_api(embedded: Running) -> None:
    token = embedded.organization("compteur")
    upload = embedded.upload(token, b"a\n1\n", dataset="compteur-data")
    done = embedded.wait_status(token, upload.json()["id"], {"published"})
    for _ in range(3):
        assert httpx.get(done["download_url"]).status_code == 200
    version_id = done["download_url"].split("/versions/")[1].split("/")[0]
    counted = httpx.get(f"{embedded.url('catalog')}/api/v1/versions/{version_id}/downloads").json()
    assert counted["total"] == 3


@pytest.mark.e2e
def test_http_tools_get_head_ranges_and_304(embedded: Running) -> None:
    """What curl, wget -c, browsers resuming a download and readers over HTTP send, through the
    real server; only a body from the first byte counts as a download."""
    token = embedded.organization("plages")
    content = "".join(f"{i},commune-{i},{i * 3}\n" for i in range(2000)).encode()
    content = b"id,nom,valeur\n" + content
    upload = embedded.upload(token, content, dataset="plages-data")
    done = embedded.wait_status(token, upload.json()["id"], {"published"})
    url = done["download_url"]
    version_id = url.split("/versions/")[1].split("/")[0]
    client = httpx.Client()

    head = client.head(url)
    assert head.status_code == 200, head.text
    assert head.content == b""
    assert int(head.headers["content-length"]) == len(content)
    assert head.headers["accept-ranges"] == "bytes"
    etag = head.headers["etag"]

    first = client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.content == content[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{len(content)}"
    assert first.headers["content-length"] == "100"
    middle = client.get(url, headers={"Range": "bytes=1000-1999"})
    assert (middle.status_code, middle.content) == (206, content[1000:2000])
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert (tail.status_code, tail.content) == (206, content[-10:])
    resumed = client.get(url, headers={"Range": "bytes=5000-", "If-Range": etag})
    assert (resumed.status_code, resumed.content) == (206, content[5000:])
    stale = client.get(url, headers={"Range": "bytes=5000-", "If-Range": '"autre"'})
    assert (stale.status_code, stale.content) == (200, content)

    past = client.get(url, headers={"Range": f"bytes={len(content)}-"})
    assert past.status_code == 416
    assert past.headers["content-type"] == "application/problem+json"
    assert past.headers["content-range"] == f"bytes */{len(content)}"
    assert past.json()["type"] == "/problems/range-not-satisfiable"

    cached = client.get(url, headers={"If-None-Match": etag})
    assert (cached.status_code, cached.content) == (304, b"")
    assert cached.headers["etag"] == etag

    dataset_url = f"{embedded.url('catalog')}/api/v1/datasets/plages-data"
    dataset = client.head(dataset_url)
    assert (dataset.status_code, dataset.content) == (200, b"")
    key = client.get(dataset_url).json()["resources"][0]["key"]
    latest = client.head(f"{dataset_url}/resources/{key}/latest")
    assert (latest.status_code, latest.headers["etag"]) == (200, etag)
    missing = client.head(f"{embedded.url('catalog')}/api/v1/versions/{uuid.uuid4()}/download")
    assert missing.status_code == 404
    client.close()

    # Counted: the whole file (stale If-Range) and the range from byte 0; not HEADs, not the
    # other parts, not the 304.
    counted = httpx.get(f"{embedded.url('catalog')}/api/v1/versions/{version_id}/downloads")
    assert counted.json()["total"] == 2


@pytest.mark.e2e
def test_a_windows_1252_file_is_served_with_its_charset(embedded: Running) -> None:
    """A spreadsheet's export kept as sent is served as what it is, so a browser or a script
    decoding by the header reads « é », « € » and « ’ » right."""
    token = embedded.organization("accents")
    text = "commune;montant;note\r\nSaint-Étienne;12 €;l’été\r\nÈze;3 €;déjà\r\n"
    upload = embedded.upload(token, text.encode("cp1252"), dataset="accents-data")
    done = embedded.wait_status(token, upload.json()["id"], {"published"})
    served = httpx.get(done["download_url"])
    assert served.headers["content-type"] == "text/csv; charset=windows-1252"
    assert served.text == text  # decoded by the header's charset

    # Shown in the browser: plain text in its own charset, sandboxed, its own tag.
    shown = httpx.get(done["download_url"], params={"inline": "true"})
    assert shown.headers["content-type"] == "text/plain; charset=windows-1252"
    assert shown.headers["content-disposition"].startswith("inline;")
    assert shown.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert shown.headers["etag"] != served.headers["etag"]
    assert shown.text == text
    described = httpx.get(f"{embedded.url('catalog')}/api/v1/datasets/accents-data").json()
    version = described["resources"][0]["versions"][-1]
    assert version["view_url"] == done["download_url"] + "?inline=true"
