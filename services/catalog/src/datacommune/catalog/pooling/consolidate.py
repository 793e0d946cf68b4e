"""Make a pool's next version from its waiting work, in the caller's transaction.

Everything a version changes — rows closed and added, the sources, the catalogue version that
serves the file, its change summary, the work it consumes — commits together. Killed before
the commit, nothing of it is left but a stored file no version points to (content-addressed:
the redo stores the same bytes under the same key), and the work is still waiting.
"""

import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from datacommune.catalog.core import visibility
from datacommune.catalog.core.hooks import HOOKS, Opened
from datacommune.catalog.pooling import pooled_file, pooled_rows
from datacommune.catalog.pooling.membership import Member, SchemaRef, members
from datacommune.catalog.tables import (
    Dataset,
    Organization,
    Pool,
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
    # The version's file, written in the scratch folder, for the caller to store once the
    # version has committed (see ``store_file``).
    file: Path
    key: str
    # Seconds spent per step (sources read and rows added, file written, the rest), logged
    # with the version: where an update's time goes.
    steps: dict[str, float]
    # How the file was written: « copied » (the unchanged bytes from the previous file) or
    # « from-database » (pooled_file.py).
    written: str


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
    started = time.perf_counter()
    number = pool.number + 1
    wanted = await members(session, pool, resource_ids)
    held = {
        source.resource_id: source
        for source in await session.scalars(
            select(PoolSource).where(
                PoolSource.pool_id == pool.id, PoolSource.resource_id.in_(resource_ids)
            )
        )
    }
    changed = [
        resource_id
        for resource_id in sorted(resource_ids)
        if _version(held.get(resource_id)) != _version(wanted[resource_id])
    ]
    if not changed:
        return None
    removed = await pooled_rows.close(session, pool, [r for r in changed if r in held], number)
    await _columns(session, pool, [m for r in changed if (m := wanted[r]) is not None], number)
    pending = pooled_rows.Pending(session)
    summary: list[dict[str, Any]] = []
    keys: dict[uuid.UUID, list[str]] = {}
    for resource_id in changed:
        entry: dict[str, Any] = {"resource": str(resource_id), "added": 0, "removed": 0}
        if (left := held.get(resource_id)) is not None:
            entry.update(
                removed=removed.get(resource_id, 0),
                organization=left.organization,
                dataset=left.dataset,
            )
            await session.delete(left)
        source = wanted[resource_id]
        if source is not None:
            path = scratch / f"{source.version.id.hex}.csv"
            try:
                await store.download(source.version.object_key, path)
                added, keys[resource_id] = await pooled_rows.add(
                    pending, pool, source, path, number, public_url=public_url
                )
            except (ObjectMissing, LookupError) as exc:
                # Its file is gone from storage, or in an encoding this Python lacks: found
                # before any row is added. It stays out (said in the summary) rather than
                # stopping the pool; its next version tries again.
                log.warning(
                    "pool_source_unreadable", version=str(source.version.id), error=str(exc)
                )
                if left is not None:  # its older rows left: that is a change
                    summary.append({**entry, "unreadable": True})
                continue
            finally:
                path.unlink(missing_ok=True)
            session.add(
                PoolSource(
                    pool_id=pool.id,
                    resource_id=resource_id,
                    version_id=source.version.id,
                    dataset=source.dataset.slug,
                    organization=source.organization.slug,
                    rows=added,
                    since=number,
                )
            )
            entry.update(
                organization=source.organization.slug,
                dataset=source.dataset.slug,
                version=str(source.version.id),
                added=added,
            )
        summary.append(entry)
    if not summary:
        return None
    await pending.flush()
    await session.flush()
    clashing = set(
        await pooled_rows.conflicts(session, pool, [k for found in keys.values() for k in found])
    )
    for entry in summary:
        if "version" in entry:
            found = keys.get(uuid.UUID(entry["resource"]), [])
            entry["conflicts"] = sorted(clashing.intersection(found))
    steps = {"sources": time.perf_counter() - started}
    return await _publish(session, pool, number, summary, store, scratch, public_url, steps)


def _version(source: PoolSource | Member | None) -> uuid.UUID | None:
    if isinstance(source, Member):
        return source.version.id
    return None if source is None else source.version_id


async def _columns(session: AsyncSession, pool: Pool, joining: list[Member], number: int) -> None:
    """The pool's columns follow the newest schema version among its sources (settled before
    the joining files' rows are added, so those are written once, in the final columns)."""
    if not joining:
        return
    source = max(joining, key=lambda m: m.schema.version)
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
    steps: dict[str, float],
) -> Made:
    started = time.perf_counter()
    path = scratch / f"{pool.slug}-{number}.csv"
    sha256, size, how = await pooled_file.write(session, pool, store, path)
    written = time.perf_counter()
    key = content_key(sha256)
    sources, rows = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(PoolSource.rows), 0)).where(
                PoolSource.pool_id == pool.id
            )
        )
    ).one()
    sources, rows = int(sources), int(rows)
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
        sources=sources,
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
    steps.update(write=written - started, publish=time.perf_counter() - written)
    return Made(made, superseded, path, key, {k: round(v, 3) for k, v in steps.items()}, how)


async def store_file(store: ObjectStore, made: Made) -> None:
    """Store a committed version's file. Done after the commit, out of the update's time:
    storing tens of megabytes (fsynced) competes for the disk with every other service, and
    nothing is lost meanwhile — a pooled file is a function of the rows, and a download
    that finds it not stored yet (or never, the pooler killed in between) writes it again
    from them, checked against the version's sha256 (files.py)."""
    await store.move_file(made.key, made.file, media_type="text/csv")


async def _dataset(session: AsyncSession, pool: Pool) -> tuple[Dataset, Resource]:
    """The consolidated dataset and its one file, made with the first version."""
    if pool.dataset_id is not None:
        # Their columns only: loaded with its files, their versions and those versions'
        # row tables, the dataset would cost one more version at each update (hundreds a
        # day), and the update would grow with the pool's history.
        dataset, resource = (
            await session.execute(
                select(Dataset, Resource)
                .join(Resource, Resource.dataset_id == Dataset.id)
                .where(Dataset.id == pool.dataset_id, Resource.key == RESOURCE_KEY)
                .options(lazyload("*"))
            )
        ).one()
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
