"""The row API's query: filters, sort, columns and keyset pages over a version's table.

Parameters follow Datasette's conventions, familiar to developers: ``commune=Roques``,
``montant__gte=1000``, ``nom__contains=école``, ``code__in=31001,31002``; ``_sort=montant`` or
``_sort=-montant``, ``_columns=nom,montant``, ``_size``, ``_cursor``, ``_count``; and
``_search=fête saint``, each word the start of a word of some text column (rows/search.py).

Pages are keyset pages: the cursor holds the last row's sort value and number, so the
millionth row costs what the first does and there is no ceiling. Blank cells sort after every
value in ascending order, before them in descending order; each part is walked on its own so
that every page is one ordered index range.
"""

import base64
import binascii
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog import problems
from datacommune.catalog.rows import columns as rowtables
from datacommune.catalog.rows import search as rowsearch

OPERATORS = {
    "eq": "=",
    "exact": "=",
    "ne": "!=",
    "not": "!=",
    "lt": "<",
    "lte": "<=",
    "gt": ">",
    "gte": ">=",
    "in": "in",
    "contains": "contains",
}
RESERVED = {"_sort", "_columns", "_cursor", "_size", "_count", "_search"}
DEFAULT_SIZE = 100
MAX_SIZE = 1000
MAX_IN_VALUES = 1000
# How long a page's count may take before an estimate is given instead (``bounded_count``).
COUNT_SECONDS = 0.5
# The estimate counts every so many rows (by number) and multiplies.
SAMPLE_EVERY = 97


@dataclass(frozen=True)
class Filter:
    column: dict[str, str]
    operator: str
    value: Any


@dataclass
class Query:
    """A parsed request for rows: what to keep, in which order, from where."""

    columns: list[dict[str, str]]
    filters: list[Filter] = field(default_factory=list)
    sort: dict[str, str] | None = None
    descending: bool = False
    selected: list[dict[str, str]] = field(default_factory=list)
    size: int = DEFAULT_SIZE
    count: bool = True
    after: dict[str, Any] | None = None
    # The words of ``_search``, empty when there is none.
    search: list[str] = field(default_factory=list)

    def fingerprint(self) -> str:
        """What a cursor is only valid for: the same filters and order."""
        spec = [[f.column["column"], f.operator, _jsonable(f.value)] for f in self.filters] + [
            self.sort["column"] if self.sort else None,
            self.descending,
        ]
        if self.search:
            spec.append(["_search", *self.search])
        return hashlib.sha256(json.dumps(spec, default=str).encode()).hexdigest()[:16]


def _names(columns: list[dict[str, str]]) -> list[str]:
    return [c["name"] for c in columns]


def _bad(fr: str, en: str, columns: list[dict[str, str]]) -> problems.InvalidFilter:
    return problems.invalid_filter(fr, en, _names(columns))


def parse(params: Iterable[tuple[str, str]], columns: list[dict[str, str]]) -> Query:
    """Read the query string; a 400 problem names what is wrong and the columns there are."""
    by_name = {c["name"]: c for c in columns}
    query = Query(columns=columns, selected=list(columns))
    convert = dict(zip(_names(columns), rowtables.converters(columns), strict=True))
    cursor: str | None = None
    for key, raw in params:
        if "\x00" in key or "\x00" in raw:
            # PostgreSQL text cannot hold NUL: say so rather than fail in the database.
            raise _bad(
                "Un filtre contient le caractère NUL.", "A filter holds the NUL character.", columns
            )
        if key in RESERVED:
            if key == "_sort":
                name = raw.removeprefix("-")
                if name not in by_name:
                    raise _unknown(name, columns)
                query.sort, query.descending = by_name[name], raw.startswith("-")
            elif key == "_columns":
                wanted = [n.strip() for n in raw.split(",") if n.strip()]
                for name in wanted:
                    if name not in by_name:
                        raise _unknown(name, columns)
                query.selected = [by_name[n] for n in wanted] or list(columns)
            elif key == "_size":
                if not raw.isdigit() or not 1 <= int(raw) <= MAX_SIZE:
                    raise _bad(
                        f"_size va de 1 à {MAX_SIZE}.", f"_size is 1 to {MAX_SIZE}.", columns
                    )
                query.size = int(raw)
            elif key == "_count":
                query.count = raw.lower() not in ("0", "false", "non", "no")
            elif key == "_search":
                query.search = rowsearch.words(" ".join([*query.search, raw]))
            else:
                cursor = raw
            continue
        name, operator = key, "="
        if key not in by_name and "__" in key:
            name, _, suffix = key.rpartition("__")
            if suffix not in OPERATORS:
                raise _bad(
                    f"Opérateur « {suffix} » inconnu : {', '.join(sorted(OPERATORS))}.",
                    f"Unknown operator {suffix!r}: {', '.join(sorted(OPERATORS))}.",
                    columns,
                )
            operator = OPERATORS[suffix]
        if name not in by_name:
            raise _unknown(name, columns)
        column = by_name[name]
        query.filters.append(Filter(column, operator, _value(column, operator, raw, convert)))
    if cursor is not None:
        query.after = _read_cursor(cursor, query)
    return query


def _unknown(name: str, columns: list[dict[str, str]]) -> problems.InvalidFilter:
    return _bad(
        f"Pas de colonne « {name} ». Les colonnes : {', '.join(_names(columns))}.",
        f"No column {name!r}. The columns: {', '.join(_names(columns))}.",
        columns,
    )


def _value(
    column: dict[str, str], operator: str, raw: str, convert: dict[str, Callable[[str], Any]]
) -> Any:
    if operator == "contains":
        return raw
    if operator == "in":
        try:
            items = json.loads(raw) if raw.startswith("[") else raw.split(",")
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not 0 < len(items) <= MAX_IN_VALUES:
            raise _bad(
                f"« in » attend de 1 à {MAX_IN_VALUES} valeurs séparées par des virgules, ou "
                'un tableau JSON : code__in=31001,31002 ou code__in=["a,b","c"].',
                f"'in' takes 1 to {MAX_IN_VALUES} comma-separated values or a JSON array.",
                [column],
            )
        return [_one(column, str(item), convert) for item in items]
    return _one(column, raw, convert)


def _one(column: dict[str, str], raw: str, convert: dict[str, Callable[[str], Any]]) -> Any:
    if column["stored"] == "string":
        return raw
    try:
        return convert[column["name"]](raw.strip())
    except (ValueError, OverflowError):
        raise problems.invalid_filter(
            f"« {raw} » n'est pas une valeur de type {column['type']} pour la colonne "
            f"« {column['name']} ».",
            f"{raw!r} is not a {column['type']} value for column {column['name']!r}.",
            [column["name"]],
        ) from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def write_cursor(
    query: Query, segment: str, value: Any, row: int, total: int | None, estimated: bool = False
) -> str:
    body = {"k": query.fingerprint(), "s": segment, "v": _jsonable(value), "r": row}
    if total is not None:
        # The total rides along: the pages after the first need not count again.
        body["t"] = total
        if estimated:
            body["e"] = 1
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def _read_cursor(cursor: str, query: Query) -> dict[str, Any]:
    try:
        body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if body["k"] != query.fingerprint() or not isinstance(body["r"], int):
            raise ValueError("cursor of another query")
        if not isinstance(body.get("t", 0), int) or not 0 <= body["r"] < 2**62:
            raise ValueError("cursor of another query")
        if body.get("e", 0) not in (0, 1):
            raise ValueError("cursor of another query")
        if body["s"] == "values" and query.sort:
            body["v"] = _cursor_value(query.sort["stored"], body["v"])
        return dict(body)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise problems.bad_cursor() from None


def _cursor_value(stored: str, value: Any) -> Any:
    """A cursor's sort value, checked against its column's type (a tampered cursor is a 400,
    never a database error)."""
    if stored == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    if stored in ("integer", "year") and isinstance(value, int) and not isinstance(value, bool):
        if -(2**63) <= value < 2**63:
            return value
    if stored == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if stored == "boolean" and isinstance(value, bool):
        return value
    if stored == "string" and isinstance(value, str):
        return value
    raise ValueError("cursor value of another type")


def conditions(tbl: sa.Table, query: Query, dialect: str) -> list[sa.ColumnElement[bool]]:
    """The WHERE of the filters and the search, in the SQL of ``dialect``."""
    result: list[sa.ColumnElement[bool]] = []
    if query.search:
        result.append(rowsearch.condition(tbl, query.columns, query.search, dialect))
    for f in query.filters:
        col = tbl.c[f.column["column"]]
        if f.operator == "=":
            result.append(col == f.value)
        elif f.operator == "!=":
            # A blank cell is not equal to the value either.
            result.append(sa.or_(col != f.value, col.is_(None)))
        elif f.operator == "<":
            result.append(col < f.value)
        elif f.operator == "<=":
            result.append(col <= f.value)
        elif f.operator == ">":
            result.append(col > f.value)
        elif f.operator == ">=":
            result.append(col >= f.value)
        elif f.operator == "in":
            result.append(col.in_(f.value))
        else:
            text = col if f.column["stored"] == "string" else sa.cast(col, sa.Text)
            pattern = f.value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            if dialect == "sqlite":
                # SQLite's LIKE ignores the case of ASCII letters, as lower() does (neither
                # knows other letters without ICU): the same rows, without lower() on each
                # cell, which made a scan of a million rows twice as long.
                result.append(text.like(f"%{pattern}%", escape="\\"))
            else:
                result.append(text.ilike(f"%{pattern}%", escape="\\"))
    return result


def _segments(query: Query) -> list[str]:
    if query.sort is None:
        return ["all"]
    if any(f.column is query.sort and f.operator != "!=" for f in query.filters):
        return ["values"]  # a filter on the sort column already leaves the blanks out
    return ["nulls", "values"] if query.descending else ["values", "nulls"]


def _segment_select(
    tbl: sa.Table, query: Query, segment: str, after: dict[str, Any] | None, dialect: str
) -> sa.Select[Any]:
    row = tbl.c._row
    down = query.descending
    # The sort column comes last as well, for the cursor, even when it is not shown.
    sort = [tbl.c[query.sort["column"]]] if query.sort else []
    stmt = sa.select(row, *(tbl.c[c["column"]] for c in query.selected), *sort).where(
        *conditions(tbl, query, dialect)
    )
    if segment == "all":
        if after:
            stmt = stmt.where(row > after["r"])
        return stmt.order_by(row)
    assert query.sort is not None
    col = tbl.c[query.sort["column"]]
    if segment == "nulls":
        stmt = stmt.where(col.is_(None))
        if after:
            stmt = stmt.where(row < after["r"] if down else row > after["r"])
        return stmt.order_by(row.desc() if down else row)
    stmt = stmt.where(col.is_not(None))
    if after:
        position = sa.tuple_(sa.literal(after["v"], col.type), sa.literal(after["r"]))
        stmt = stmt.where(
            sa.tuple_(col, row) < position if down else sa.tuple_(col, row) > position
        )
    return stmt.order_by(*((col.desc(), row.desc()) if down else (col, row)))


@dataclass
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None


async def page(
    session: AsyncSession,
    tbl: sa.Table,
    query: Query,
    *,
    total: int | None = None,
    estimated: bool = False,
) -> Page:
    """One page of rows, and the cursor of the next one if there is more."""
    rows, after = await fetch(session, tbl, query)
    cursor = None
    if after:
        cursor = write_cursor(query, after["s"], after["v"], after["r"], total, estimated)
    return Page([as_dict(query.selected, r) for r in rows], cursor)


async def fetch(
    session: AsyncSession, tbl: sa.Table, query: Query
) -> tuple[list[sa.Row[Any]], dict[str, Any] | None]:
    """The rows of one page (``_row``, the selected cells, then the sort cell), and where the
    next page starts, if there is one."""
    wanted = query.size + 1
    found: list[tuple[str, sa.Row[Any]]] = []
    segments = _segments(query)
    start = 0
    if query.after is not None:
        if query.after["s"] not in segments:
            raise problems.bad_cursor()
        start = segments.index(query.after["s"])
    for position, segment in enumerate(segments[start:]):
        after = query.after if position == 0 else None
        stmt = _segment_select(tbl, query, segment, after, _dialect(session)).limit(
            wanted - len(found)
        )
        found += [(segment, r) for r in (await session.execute(stmt)).all()]
        if len(found) >= wanted:
            break
    shown = found[: query.size]
    after = None
    if len(found) > query.size:
        segment, last = shown[-1]
        after = {"s": segment, "v": last[-1] if query.sort else None, "r": last[0]}
    return [r for _, r in shown], after


def as_dict(selected: list[dict[str, str]], row: sa.Row[Any]) -> dict[str, Any]:
    """A row as the API shows it: ``_row`` (its record number, header = 1), then its cells."""
    body: dict[str, Any] = {"_row": row[0]}
    for column, value in zip(selected, row[1 : 1 + len(selected)], strict=True):
        body[column["name"]] = plain(value)
    return body


def plain(value: Any) -> Any:
    """A cell as JSON can carry it: ISO dates, no NaN nor infinity."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


async def count(session: AsyncSession, tbl: sa.Table, query: Query, total: int) -> int:
    """The exact number of matching rows: the stored total when nothing is filtered, the one
    the cursor carries on the pages after the first, else counted."""
    known = _known(query, total)
    if known is not None and not known.estimated and known.value is not None:
        return known.value
    return int(await session.scalar(_counting(session, tbl, query)) or 0)


def _known(query: Query, total: int) -> "Total | None":
    """The total without counting: the stored one when nothing is filtered, else the one the
    cursor carries on the pages after the first (estimated or not, as it says)."""
    if not query.filters and not query.search:
        return Total(total)
    if query.after is not None and isinstance(query.after.get("t"), int):
        return Total(int(query.after["t"]), bool(query.after.get("e")))
    return None


def _counting(session: AsyncSession, tbl: sa.Table, query: Query) -> sa.Select[Any]:
    where = conditions(tbl, query, _dialect(session))
    return sa.select(sa.func.count()).select_from(tbl).where(*where)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


@dataclass(frozen=True)
class Total:
    """How many rows a query finds: exact, or estimated when counting took too long, or not
    known when even the estimate did (``value`` None)."""

    value: int | None
    estimated: bool = False


async def bounded_count(
    session: AsyncSession,
    tbl: sa.Table,
    query: Query,
    total: int,
    *,
    seconds: float = COUNT_SECONDS,
) -> Total:
    """``count``, given ``seconds``: past them, the rows whose number is a multiple of
    ``SAMPLE_EVERY`` are counted (in as long again) and the estimate is that many times more.

    A filter no index serves (``col__contains`` over a million rows) would otherwise hold the
    page for seconds: the page never waits for its count longer than twice ``seconds``."""
    known = _known(query, total)
    if known is not None:
        return known
    exact = _counting(session, tbl, query)
    found = await _within(session, exact, seconds)
    if found is not None:
        return Total(found)
    sampled = exact.where(tbl.c._row % SAMPLE_EVERY == 0)
    found = await _within(session, sampled, seconds)
    if found is None:
        return Total(None, estimated=True)
    return Total(min(total, found * SAMPLE_EVERY), estimated=True)


async def _within(session: AsyncSession, stmt: sa.Select[Any], seconds: float) -> int | None:
    """The count ``stmt`` makes, or None if it takes longer than ``seconds``; the session
    stays usable either way."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        async with session.begin_nested() as savepoint:
            # Undone with the savepoint when it fails, restored by hand when it does not.
            before = await session.scalar(sa.text("SELECT current_setting('statement_timeout')"))
            timeout = sa.text("SELECT set_config('statement_timeout', :value, true)")
            await session.execute(timeout, {"value": str(max(1, int(seconds * 1000)))})
            try:
                found = int(await session.scalar(stmt) or 0)
            except sa.exc.DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) != "57014":  # query_canceled
                    raise
                await savepoint.rollback()
                return None
            await session.execute(timeout, {"value": before})
            return found
    # SQLite (a version's own file, through shared/inline_sqlite.py, which offers aiosqlite's
    # call): the progress handler stops the statement once the time is up, whether it runs on
    # the event loop or was moved to the worker.
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    deadline = time.monotonic() + seconds
    await driver.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)  # type: ignore[union-attr]
    try:
        return int(await session.scalar(stmt) or 0)
    except sa.exc.OperationalError as exc:
        if "interrupted" not in str(exc.orig):
            raise
        return None
    finally:
        await driver.set_progress_handler(None, 0)  # type: ignore[union-attr]
