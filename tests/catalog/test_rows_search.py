"""``_search`` inside a version's rows, on both databases: built after the rows are ready, the
same rows found on SQLite and PostgreSQL, accents and case ignored, each word a prefix."""

import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from datacommune.catalog import problems
from datacommune.catalog.rows import columns as rowtables
from datacommune.catalog.rows import loader as rowloader
from datacommune.catalog.rows import query as rowquery
from datacommune.catalog.rows import search as rowsearch
from datacommune.catalog.rows.loader import RowLoader
from datacommune.catalog.rows.store import RowStore
from datacommune.catalog.tables import RowTable
from datacommune.shared.storage import LocalObjectStore
from tests.catalog.test_rows import publish_table, records


def plain(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c)
    )


def expected(search: str) -> list[int]:
    """Record numbers (as the loader numbers them) of the rows whose text has, for each word,
    a word starting with it: the test table's text columns are ``nom`` and ``code`` (text for
    its « 31A »)."""
    terms = [plain(w) for w in re.findall(r"\w+", search)]
    found = []
    for number, row in zip(_numbers(), records(), strict=True):
        words = re.findall(r"\w+", plain(f"{row['nom']} {row['code']}"))
        if all(any(w.startswith(t) for w in words) for t in terms):
            found.append(number)
    return found


def _numbers() -> list[int]:
    """Each record's number, as the loader numbers them (a blank record follows some)."""
    numbers, number = [], 2
    for row in records():
        numbers.append(number)
        number += 2 if row["annee"] == 2022 and row["actif"] else 1
    return numbers


async def search(
    loader_engine: Any, table: RowTable, words: str, **params: str
) -> tuple[list[int], int]:
    assert table.columns is not None
    query = rowquery.parse([("_search", words), ("_size", "1000"), *params.items()], table.columns)
    tbl = rowtables.table(table.version_id, table.columns)
    async with RowStore(loader_engine).reader(table.version_id)() as session:
        page = await rowquery.page(session, tbl, query)
        total = await rowquery.count(session, tbl, query, table.row_count or 0)
    return [r["_row"] for r in page.rows], total


async def test_search_is_built_after_the_rows_and_finds_words_by_their_start(
    catalog_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As for a large table: the rows first, the index next.
    monkeypatch.setattr(rowloader, "SEARCH_WITH_ROWS", 0)
    store = LocalObjectStore(tmp_path / "files")
    engine, sessionmaker = await publish_table(catalog_url, store)
    loader = RowLoader(engine, sessionmaker, store)
    assert await loader.load_next()
    async with sessionmaker() as session:
        table = await session.scalar(select(RowTable))
    assert table is not None
    # The rows answer at once; the search waits for its index.
    assert table.status == "ready"
    assert table.search is None
    assert not await loader.load_next()
    assert await loader.index_next()
    assert not await loader.index_next()
    async with sessionmaker() as session:
        table = await session.scalar(select(RowTable))
    assert table is not None
    assert table.search == rowsearch.READY

    words_tried = ["association", "ASSOCIATION N°1", "assoc 12", "é", "e", "hyperlink", "zzz"]
    for words in [*words_tried, "31a", "3101", "31 n°7"]:
        rows, total = await search(engine, table, words)
        assert rows == expected(words), words
        assert total == len(rows), words
    # With a filter and a sort, and across pages.
    rows, total = await search(engine, table, "n°1", annee="2021", _sort="-montant")
    wanted = set(expected("n°1")) & {r for r in expected("") if _annee(r) == 2021}
    assert 0 < len(wanted) < len(expected("n°1"))
    # Page after page: the cursor keeps the search.
    assert table.columns is not None
    tbl = rowtables.table(table.version_id, table.columns)
    walked: list[int] = []
    cursor: list[tuple[str, str]] = []
    while True:
        query = rowquery.parse([("_search", "assoc n°2"), ("_size", "4"), *cursor], table.columns)
        async with RowStore(engine).reader(table.version_id)() as session:
            page = await rowquery.page(session, tbl, query)
        walked += [r["_row"] for r in page.rows]
        if not page.next_cursor:
            break
        cursor = [("_cursor", page.next_cursor)]
    assert walked == expected("assoc n°2")
    assert sorted(rows) == sorted(wanted)
    assert total == len(wanted)
    await engine.dispose()


def _annee(number: int) -> int | None:
    by_number = dict(zip(_numbers(), records(), strict=True))
    return int(by_number[number]["annee"]) if number in by_number else None


async def test_a_table_loaded_again_gets_its_search_index_again(
    catalog_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rowloader, "SEARCH_WITH_ROWS", 0)
    store = LocalObjectStore(tmp_path / "files")
    engine, sessionmaker = await publish_table(catalog_url, store)
    loader = RowLoader(engine, sessionmaker, store)
    assert await loader.load_next()
    assert await loader.index_next()
    # Loaded again (its rows lost from disk, say): a new table, its index built anew.
    async with sessionmaker.begin() as session:
        await session.execute(update(RowTable).values(status="pending"))
    assert await loader.load_next()
    async with sessionmaker() as session:
        table = await session.scalar(select(RowTable))
    assert table is not None
    assert table.search is None
    assert await loader.index_next()
    async with sessionmaker() as session:
        table = await session.scalar(select(RowTable))
    assert table is not None
    assert table.search == rowsearch.READY
    rows, _ = await search(engine, table, "association")
    assert rows == expected("association")
    await engine.dispose()


async def test_a_small_table_is_searchable_with_its_rows(catalog_url: str, tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "files")
    engine, sessionmaker = await publish_table(catalog_url, store)
    loader = RowLoader(engine, sessionmaker, store)
    assert await loader.load_next()
    assert not await loader.index_next()
    async with sessionmaker() as session:
        table = await session.scalar(select(RowTable))
    assert table is not None
    assert table.search == rowsearch.READY
    rows, total = await search(engine, table, "fête é")
    assert rows == expected("fête é")
    assert total == len(rows)
    await engine.dispose()


def test_search_words_cannot_carry_fts_or_tsquery_syntax() -> None:
    assert rowsearch.words("a\" OR b* NEAR(c) & !d:* 'e") == ["a", "OR", "b", "NEAR", "c", "d", "e"]
    assert rowsearch.words("l'école Saint-Martin") == ["l", "école", "Saint", "Martin"]
    assert len(rowsearch.words("x " * 100)) == rowsearch.MAX_WORDS


@pytest.mark.parametrize("failed", [False, True])
def test_a_search_before_its_index_says_so(failed: bool) -> None:
    problem = problems.search_unavailable() if failed else problems.search_not_ready()
    assert problem.status == 503
    assert ("Retry-After" in problem.headers) is not failed


async def test_on_postgresql_col_contains_is_served_by_a_trigram_index(
    catalog_url: str, tmp_path: Path
) -> None:
    if not catalog_url.startswith("postgresql"):
        pytest.skip("SQLite's LIKE reads every row (no index serves a part of a word there)")
    store = LocalObjectStore(tmp_path / "files")
    engine, sessionmaker = await publish_table(catalog_url, store)
    assert await RowLoader(engine, sessionmaker, store).load_next()
    async with sessionmaker() as session:
        table = await session.scalar(select(RowTable))
    assert table is not None
    assert table.columns is not None
    tbl = rowtables.table(table.version_id, table.columns)
    query = rowquery.parse([("nom__contains", "ciation n°1")], table.columns)
    statement = select(tbl.c._row).where(*rowquery.conditions(tbl, query, "postgresql"))
    async with sessionmaker() as session:
        # A table of 137 rows is read whole; with no other way, PostgreSQL shows the index.
        for way in ("seqscan", "indexscan", "indexonlyscan"):
            await session.execute(text(f"SET LOCAL enable_{way} = off"))
        compiled = statement.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join((await session.execute(text(f"EXPLAIN {compiled}"))).scalars())
    assert f"{rowsearch.index_name(tbl)}_c0" in plan, plan
    rows, _ = await search_rows(engine, table, [("nom__contains", "ciation n°1")])
    assert rows == [n for n, r in zip(_numbers(), records(), strict=True) if "n°1" in r["nom"]]
    await engine.dispose()


async def search_rows(
    engine: Any, table: RowTable, params: list[tuple[str, str]]
) -> tuple[list[int], int]:
    assert table.columns is not None
    query = rowquery.parse([*params, ("_size", "1000")], table.columns)
    tbl = rowtables.table(table.version_id, table.columns)
    async with RowStore(engine).reader(table.version_id)() as session:
        page = await rowquery.page(session, tbl, query)
        total = await rowquery.count(session, tbl, query, table.row_count or 0)
    return [r["_row"] for r in page.rows], total
