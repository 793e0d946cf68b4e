"""Publishing a validated CSV straight into a catalog database, as catalog's consumer does with
``file.validated`` (used by the row tests and by ``bench/catalog_rows.py``)."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.core import datasets
from datacommune.catalog.tables import Organization
from datacommune.shared import events, tokens


async def publish_csv(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    object_key: str,
    size: int,
    rows: int,
    fields: list[dict[str, Any]],
    encoding: str,
    source: str,
) -> None:
    """Register « roques » and publish the CSV already stored at ``object_key`` (``;``-separated,
    with ``lat``/``long`` columns) as the first version of « subventions »: its rows wait for
    the row loader."""
    event = events.FileValidated(
        source=source,
        upload_id=uuid.uuid4(),
        organization="roques",
        dataset="subventions",
        file=events.FileRef(
            object_key=object_key,
            sha256="0" * 64,
            size=size,
            filename="subventions.csv",
            media_type="text/csv",
        ),
        valid=True,
        publishable=True,
        report_key="reports/x.json",
        summary=events.ReportSummary(rows=rows),
        table=events.TableShape(
            encoding=encoding,
            delimiter=";",
            fields=fields,
            geo=events.GeoColumns(latitude="lat", longitude="long"),
        ),
    )
    async with sessionmaker.begin() as session:
        session.add(
            Organization(
                slug="roques", name="Roques", kind="commune", token_hash=tokens.hash_token("r")
            )
        )
        await session.flush()
        await datasets.publish(session, event, source=source, public_url=f"http://{source}")
