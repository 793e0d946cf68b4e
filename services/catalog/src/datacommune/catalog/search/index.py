"""The search index over datasets: French words, stemmed and unaccented, and facet counts.

Words are stemmed with Snowball's French stemmer and stripped of accents in Python, for the
documents and the queries alike, so « délibération » finds « deliberations » and both engines
see the same tokens: SQLite indexes them with FTS5, PostgreSQL with a GIN index over a
``simple`` tsvector. A dataset is indexed again in the transaction that changes it.
"""

import re
import unicodedata
from typing import Any

import snowballstemmer
from sqlalchemy import (
    Result,
    delete,
    literal,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.search import counts
from datacommune.catalog.tables import (
    Dataset,
    DatasetFacet,
    Organization,
    RemoteResource,
    Resource,
    Version,
)

_STEMMER = snowballstemmer.stemmer("french")
FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "json": "application/json",
}
LABELS = {media_type: name for name, media_type in FORMATS.items()}
FACETS = ("organization", "theme", "licence", "schema", "format")
# The facets a dataset may have several values of: they live in ``Dataset.facet_values``.
MULTI = ("schema", "format")


def _unaccent(word: str) -> str:
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()


def dialect(session: AsyncSession) -> str:
    bind = session.get_bind()
    return str(bind.dialect.name)


def words(text_: str) -> list[str]:
    """The search tokens of a text: lower-case, stemmed in French, without accents."""
    tokens = re.findall(r"\w+", text_.lower())
    # Stripping accents can leave punctuation (« ⑴ » → « (1) »): keep letters and digits only,
    # so that no engine ever sees query syntax.
    return [
        piece
        for stem in _STEMMER.stemWords(tokens)
        for piece in re.findall(r"[a-z0-9]+", _unaccent(stem).lower())
        if len(piece) > 1
    ]


def document(dataset: Dataset, organization_name: str, schemas: list[str]) -> str:
    """What a dataset is found by: its words, its organization's name, its schemas."""
    parts = [
        dataset.title,
        dataset.slug.replace("-", " "),
        dataset.description or "",
        " ".join(dataset.keywords or []),
        organization_name,
        " ".join(s.split("@")[0].replace("-", " ") for s in schemas),
    ]
    return " ".join(words(" ".join(parts)))


async def reindex(session: AsyncSession, dataset: Dataset) -> None:
    """Recompute a dataset's search text (and its FTS5 row on SQLite) in this transaction."""
    # Usually in the session already (publishing read it): no statement then.
    organization = await session.get(Organization, dataset.organization)
    schemas, formats, remote_formats = await _files_described(session, dataset)
    before_tokens = set((dataset.search_text or "").split())
    # An embargoed dataset has no facet values (so the catalogue's counts do not count it)
    # and no full-text row: nothing of it can be found before it opens.
    values = (
        set()
        if not dataset.public
        else {
            ("organization", dataset.organization),
            ("licence", dataset.licence),
            *({("theme", dataset.theme)} if dataset.theme else set()),
            *{("schema", s) for s in schemas},
            *{("format", LABELS.get(f, f)) for f in formats},
            *{("format", f) for f in remote_formats},
        }
    )
    before = {
        (f, v)
        for f, v in await session.execute(
            select(DatasetFacet.facet, DatasetFacet.value).where(
                DatasetFacet.dataset_id == dataset.id
            )
        )
    }
    # Written together, after every read: one UPDATE of the dataset.
    dataset.search_text = document(
        dataset, organization.name if organization else "", sorted(schemas)
    )
    dataset.title_words = " ".join(words(dataset.title))
    dataset.facet_values = "\n".join(f"{f}={v}" for f, v in sorted(values) if f in MULTI)
    gone, added = before - values, values - before
    if gone:
        await session.execute(
            delete(DatasetFacet).where(
                DatasetFacet.dataset_id == dataset.id,
                tuple_(DatasetFacet.facet, DatasetFacet.value).in_(sorted(gone)),
            )
        )
    session.add_all(DatasetFacet(facet=f, value=v, dataset_id=dataset.id) for f, v in added)

    if dialect(session) == "sqlite":
        # The text row is the dataset's own rowid there (migration 0029), given the first time
        # (SQLite has one writer at a time: the next number is no one else's).
        rowid = await session.scalar(
            text(
                "UPDATE datasets SET search_rowid = coalesce(search_rowid, "
                "(SELECT coalesce(max(search_rowid), 0) + 1 FROM datasets)) "
                "WHERE id = :id RETURNING search_rowid"
            ),
            {"id": dataset.id.hex},
        )
        await session.execute(text("DELETE FROM datasets_fts WHERE rowid = :n"), {"n": rowid})
        if dataset.public:
            await session.execute(
                text(
                    "INSERT INTO datasets_fts (rowid, dataset_id, title, search_text) "
                    "VALUES (:n, :id, :title, :text)"
                ),
                {
                    "n": rowid,
                    "id": dataset.id.hex,
                    "title": dataset.title_words,
                    "text": dataset.search_text,
                },
            )
    # Last, once its words and values are written: a word it makes common is counted from them.
    await counts.change(session, (before_tokens, before), (dataset.search_text.split(), values))


async def _files_described(
    session: AsyncSession, dataset: Dataset
) -> tuple[set[str], set[str], set[str]]:
    """The schemas and media types of a dataset's public versions, and its remote files'
    formats, read in one statement."""
    versions = (
        select(literal("schema").label("kind"), Version.schema_id.label("value"))
        .join(Resource, Resource.id == Version.resource_id)
        .where(
            Resource.dataset_id == dataset.id,
            # What an embargoed version conforms to is not told before it opens.
            Version.public.is_(True),
            Version.schema_id.is_not(None),
        )
        .distinct()
    )
    media = (
        select(literal("media").label("kind"), Version.media_type.label("value"))
        .join(Resource, Resource.id == Version.resource_id)
        .where(Resource.dataset_id == dataset.id, Version.public.is_(True))
        .distinct()
    )
    # A harvested dataset's formats are those of its remote files.
    remote = (
        select(literal("remote").label("kind"), RemoteResource.format.label("value"))
        .where(RemoteResource.dataset_id == dataset.id, RemoteResource.format.is_not(None))
        .distinct()
    )
    found: dict[str, set[str]] = {"schema": set(), "media": set(), "remote": set()}
    rows: Result[Any] = await session.execute(union_all(versions, media, remote))
    for row in rows:
        if row.value:
            found[row.kind].add(row.value)
    return found["schema"], found["media"], found["remote"]


async def reindex_stale(sessionmaker: Any, batch: int = 500) -> int:
    """Index the datasets no search text covers yet (e.g. published before the index existed)."""
    done = 0
    while True:
        async with sessionmaker.begin() as session:
            stale = list(
                (
                    await session.scalars(
                        select(Dataset).where(Dataset.search_text == "").limit(batch)
                    )
                ).all()
            )
            for dataset in stale:
                await reindex(session, dataset)
                if not dataset.search_text:
                    dataset.search_text = " "  # nothing to index: do not look at it again
        done += len(stale)
        if len(stale) < batch:
            return done
