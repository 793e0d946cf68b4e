"""Make a pool's next version from its waiting work, in the caller's transaction.

Everything a version changes — rows closed and added, the sources, the catalogue version that
serves the file, its change summary, the work it consumes — commits together. Killed before
the commit, nothing of it is left but a stored file no version points to (content-addressed:
the redo stores the same bytes under the same key), and the work is still waiting.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.core import visibility
from datacommune.catalog.core.hooks import HOOKS, Opened
from datacommune.catalog.pooling import pooled_rows
from datacommune.catalog.pooling.membership import Member, SchemaRef, member
from datacommune.catalog.tables import (
    Dataset,
    Organization,
    Pool,
    PoolSegment,
    PoolSource,
    PoolVersion,
    Resource,
    RowTable,
    Version,
)
from datacommune.shared import events
from datacommune.shared.outbox import utcnow
from datacommune.shared.storage import ObjectMissing, ObjectStore, content_key

log = structlog.get_logger()

# An older pooled version's rows are not kept for the row API: its file is.
SUPERSEDED = (
    "Version mutualisée remplacée par une plus récente : ses lignes ne sont plus servies, son "
    "fichier reste téléchargeable. / A pooled version replaced by a newer one: its rows are no "
    "longer served, its file can still be downloaded."
)
# A pooled version's rows are loaded this long after it is made: a version replaced sooner (a
# burst, a stream of republications) is never loaded, and the loading, a whole table each
# time, does not take the processor from the next update. The row API answers
# `rows-not-ready` meanwhile; the file is public at once.
ROWS_AFTER = timedelta(seconds=5)
# Version ids derive from the pool and number: a redone update makes the same ids.
_IDS = uuid.UUID("6f1f6a52-2c49-4a8e-9d0e-3b7c6e0f5a11")
RESOURCE_KEY = "donnees-mutualisees"


@dataclass(frozen=True)
class Made:
    """A new pooled version, and the older ones whose loaded rows the caller may now drop."""

    version: PoolVersion
    superseded: list[uuid.UUID]


async def consolidate(
    session: AsyncSession,
    pool: Pool,
    resource_ids: set[uuid.UUID],
    *,
    store: ObjectStore,
    scratch: Path,
    public_url: str,
) -> Made | None:
    """Bring the pool's sources for ``resource_ids`` up to date and, if anything changed,
    write and publish its next version; None when nothing changed."""
    number = pool.number + 1
    summary: list[dict[str, Any]] = []
    for resource_id in sorted(resource_ids):
        wanted = await member(session, pool, resource_id)
        held = await session.get(PoolSource, (pool.id, resource_id))
        if held is not None and wanted is not None and held.version_id == wanted.version.id:
            continue
        if held is None and wanted is None:
            continue
        entry: dict[str, Any] = {"resource": str(resource_id), "added": 0, "removed": 0}
        if held is not None:
            entry["removed"] = await pooled_rows.close(session, pool, resource_id, number)
            entry.update(organization=held.organization, dataset=held.dataset)
            await session.delete(held)
        if wanted is not None:
            await _columns(session, pool, wanted, number)
            path = scratch / f"{wanted.version.id.hex}.csv"
            try:
                await store.download(wanted.version.object_key, path)
                added, clashes = await pooled_rows.add(
                    session, pool, wanted, path, number, public_url=public_url
                )
            except (ObjectMissing, LookupError) as exc:
                # Its file is gone from storage, or in an encoding this Python lacks: found
                # before any row is added. It stays out (said in the summary) rather than
                # stopping the pool; its next version tries again.
                log.warning(
                    "pool_source_unreadable", version=str(wanted.version.id), error=str(exc)
                )
                if held is not None:  # its older rows left: that is a change
                    summary.append({**entry, "unreadable": True})
                continue
            finally:
                path.unlink(missing_ok=True)
            session.add(
                PoolSource(
                    pool_id=pool.id,
                    resource_id=resource_id,
                    version_id=wanted.version.id,
                    dataset=wanted.dataset.slug,
                    organization=wanted.organization.slug,
                    rows=added,
                    since=number,
                )
            )
            entry.update(
                organization=wanted.organization.slug,
                dataset=wanted.dataset.slug,
                version=str(wanted.version.id),
                added=added,
                conflicts=clashes,
            )
        summary.append(entry)
    if not summary:
        return None
    await session.flush()
    return await _publish(session, pool, number, summary, store, scratch, public_url)


async def _columns(session: AsyncSession, pool: Pool, source: Member, number: int) -> None:
    """The pool's columns follow the newest schema version among its sources."""
    current = SchemaRef.parse(pool.schema_id)
    if current is not None and current.version >= source.schema.version:
        return
    old = [f["name"] for f in pool.fields]
    pool.fields = [f.model_dump() for f in source.shape.fields]
    pool.primary_key = list(source.shape.primary_key)
    pool.schema_id = source.version.schema_id
    if old:
        await pooled_rows.reshape(session, pool, old, [f["name"] for f in pool.fields], number)


async def _publish(
    session: AsyncSession,
    pool: Pool,
    number: int,
    summary: list[dict[str, Any]],
    store: ObjectStore,
    scratch: Path,
    public_url: str,
) -> Made:
    path = scratch / f"{pool.slug}-{number}.csv"
    sha256, size, rows = await _write(session, pool, path)
    key = content_key(sha256)
    await store.put_file(key, path, media_type="text/csv")
    path.unlink(missing_ok=True)
    sources = await session.scalar(
        select(func.count()).select_from(PoolSource).where(PoolSource.pool_id == pool.id)
    )
    report = {
        "pool": pool.slug,
        "number": number,
        "rows": rows,
        "sources": sources,
        "changes": summary,
        "conflicts": await pooled_rows.conflicts(session, pool),
    }
    report_key = f"reports/pools/{pool.id}/{number}.json"
    await store.put_bytes(
        report_key, json.dumps(report, ensure_ascii=False).encode(), media_type="application/json"
    )
    dataset, resource = await _dataset(session, pool)
    version = Version(
        id=uuid.uuid5(_IDS, f"{pool.id}/{number}"),
        resource_id=resource.id,
        number=-number,
        upload_id=uuid.uuid5(_IDS, f"{pool.id}/{number}/upload"),
        object_key=key,
        sha256=sha256,
        size=size,
        filename=f"{pool.slug}-v{number}.csv",
        media_type="text/csv",
        charset="utf-8",
        schema_id=pool.schema_id,
        valid=True,
        report_key=report_key,
        public=False,
    )
    session.add(version)
    await session.flush()
    await visibility.make_public(session, dataset, resource, version, utcnow())
    fields = [events.TableField.model_validate(f) for f in pool.fields]
    fields += [events.TableField(name=name) for name in pooled_rows.PROVENANCE]
    shape = events.TableShape(fields=fields, primary_key=pool.primary_key)
    session.add(
        RowTable(
            version_id=version.id,
            # Claimable by a loader once this lease, which no loader holds, ends.
            status="loading",
            lease_until=utcnow() + ROWS_AFTER,
            shape=shape.model_dump(),
        )
    )
    made = PoolVersion(
        pool_id=pool.id,
        number=number,
        version_id=version.id,
        rows=rows,
        sources=sources or 0,
        fields=[f["name"] for f in pool.fields],
        kept=True,
        summary=summary,
    )
    session.add(made)
    pool.number = number
    older = select(PoolVersion.version_id).where(
        PoolVersion.pool_id == pool.id, PoolVersion.number < number
    )
    superseded = list(
        await session.scalars(
            select(RowTable.version_id).where(
                RowTable.version_id.in_(older), RowTable.status != "failed"
            )
        )
    )
    if superseded:
        await session.execute(
            update(RowTable)
            .where(RowTable.version_id.in_(superseded))
            .values(status="failed", error=SUPERSEDED, lease_until=None)
        )
    await HOOKS.dataset_opened(
        session, Opened(dataset, [(resource, version)], release=None, public_url=public_url)
    )
    await session.flush()
    await HOOKS.dataset_changed(session, dataset)
    return Made(made, superseded)


async def _write(session: AsyncSession, pool: Pool, path: Path) -> tuple[str, int, int]:
    """Write the pool's file from its files' segments: the sha256, size and rows."""
    result = await session.stream(
        select(PoolSegment.text)
        .where(PoolSegment.pool_id == pool.id)
        .order_by(PoolSegment.organization, PoolSegment.version_id, PoolSegment.part)
        .execution_options(yield_per=16)
    )
    fields = [f["name"] for f in pool.fields]
    sha256, size = await pooled_rows.write_file(path, fields, result.scalars())
    rows = await session.scalar(
        select(func.coalesce(func.sum(PoolSource.rows), 0)).where(PoolSource.pool_id == pool.id)
    )
    return sha256, size, int(rows or 0)


async def _dataset(session: AsyncSession, pool: Pool) -> tuple[Dataset, Resource]:
    """The consolidated dataset and its one file, made with the first version."""
    if pool.dataset_id is not None:
        dataset = await session.get(Dataset, pool.dataset_id)
        assert dataset is not None
        resource = await session.scalar(
            select(Resource).where(Resource.dataset_id == dataset.id, Resource.key == RESOURCE_KEY)
        )
        assert resource is not None
        return dataset, resource
    territory = await session.get(Organization, pool.territory)
    name = territory.name if territory else pool.territory
    major = f" (v{pool.major})" if pool.slug.endswith(f"--v{pool.major}") else ""
    dataset = Dataset(
        slug=pool.slug,
        organization=pool.territory,
        title=f"{pool.schema}{major} — données mutualisées de {name}",
        description=(
            f"Toutes les données au schéma {pool.schema} publiées par les organisations de "
            f"{name}, réunies en une table tenue à jour à chaque publication, avec l'origine "
            "de chaque ligne (colonnes _organisation à _publie_le). / Every file of the "
            f"{pool.schema} schema published in {name}'s territory, pooled into one table "
            "kept current with each publication, each row with its provenance."
        ),
        keywords=["données mutualisées", pool.schema],
        public=False,
    )
    session.add(dataset)
    await session.flush()
    resource = Resource(
        dataset_id=dataset.id, key=RESOURCE_KEY, title="Données mutualisées", public=False
    )
    session.add(resource)
    await session.flush()
    pool.dataset_id = dataset.id
    return dataset, resource
