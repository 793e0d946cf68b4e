"""CKAN's search syntax — Solr's, as harvesters send it in ``q`` and ``fq`` — translated into
conditions on datasets, so that an include or exclude filter harvests exactly what it says.

Parsed by luqum (a maintained Lucene/Solr grammar). Clauses written side by side are ANDed, as
CKAN's Solr core does; ``AND``, ``OR``, ``NOT``, ``-`` and ``+``, groups, ``field:(a OR b)``,
quoted values and ranges on dates (``metadata_modified:[2024-01-01T00:00:00Z TO *]``, ``NOW``,
``NOW-7DAYS``, ``NOW/DAY``) are understood. Anything else — an unknown field, a fuzzy or
proximity search, a regular expression, a range on text — raises ``QueryError``, answered with
CKAN's own 409 « Search Query Error »: a filter is never silently ignored.
"""

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from luqum import tree
from luqum.parser import parser
from sqlalchemy import ColumnElement, and_, false, func, not_, or_, true

from datacommune.catalog import search
from datacommune.catalog.tables import Dataset


class QueryError(Exception):
    """A query this API cannot answer exactly; the message says which part."""


# What CKAN indexes and this catalogue holds, by Solr field name.
TEXT_FIELDS = ("text", "title", "notes")
DATE_FIELDS = {"metadata_modified": Dataset.updated_at, "metadata_created": Dataset.created_at}
FACET_FIELDS = ("organization", "tags", "res_format", "license_id", "groups")


def parse(query: str) -> tree.Item | None:
    """The syntax tree of ``query``; None for « everything » (empty, ``*:*``)."""
    if query.strip() in ("", "*", "*:*"):
        return None
    try:
        return parser.parse(query)
    except Exception as exc:  # luqum's ParseError and its lexer's own errors
        raise QueryError(f"Cannot parse query {query!r}: {exc}") from None


class Translator:
    """Turns a syntax tree into a condition; collects the words it searched, for ranking."""

    def __init__(self, dialect: str, keyword_condition: Callable[[str], ColumnElement[bool]]):
        self.dialect = dialect
        self.keyword = keyword_condition
        self.words: list[str] = []

    def condition(self, node: tree.Item, field: str | None = None) -> ColumnElement[bool]:
        if isinstance(node, tree.SearchField):
            if field is not None:
                raise QueryError(f"A field inside field {field!r}")
            if node.name == "*" and isinstance(node.expr, tree.Word) and node.expr.value == "*":
                return true()
            return self.condition(node.expr, node.name)
        if isinstance(node, tree.AndOperation | tree.UnknownOperation | tree.OrOperation):
            return self._sequence(node, field)
        if isinstance(node, tree.Not | tree.Prohibit):
            return not_(self.condition(node.a, field))
        if isinstance(node, tree.Plus):
            return self.condition(node.a, field)
        if isinstance(node, tree.Group | tree.FieldGroup):
            return self.condition(node.expr, field)
        if isinstance(node, tree.Range):
            return self._range(node, field)
        if isinstance(node, tree.Word | tree.Phrase):
            value = node.value.strip('"') if isinstance(node, tree.Phrase) else node.value
            return self._value(field or "text", value)
        raise QueryError(f"Unsupported search syntax: {node}")

    def _sequence(self, node: tree.Item, field: str | None) -> ColumnElement[bool]:
        """Clauses side by side, with AND and OR between some, read as harvesters mean them:
        ``organization:a OR organization:b -groups:x metadata_modified:[…]`` is « (a or b),
        not x, modified since ». Juxtaposition binds loosest, then OR, then AND (the parser's
        own nesting of such mixes is undone first)."""
        operands, operators = _flatten(node)
        conditions = [self.condition(o, field) for o in operands]
        segments: list[list[list[ColumnElement[bool]]]] = [[[conditions[0]]]]
        for operator, condition in zip(operators, conditions[1:], strict=True):
            if operator == " ":
                segments.append([[condition]])
            elif operator == "OR":
                segments[-1].append([condition])
            else:
                segments[-1][-1].append(condition)
        return and_(*(or_(*(and_(*chain) for chain in segment)) for segment in segments))

    def _value(self, field: str, value: str) -> ColumnElement[bool]:
        if field in DATE_FIELDS:
            if value == "*":
                return true()
            raise QueryError(f"Search {field} with a range, e.g. {field}:[NOW-1DAY TO *]")
        if value == "*":
            return true() if field in KNOWN else self._unknown(field)
        if field in TEXT_FIELDS:
            tokens = search.words(value)
            if not tokens:
                return true()
            self.words += tokens
            found = and_(*(search.word_condition(self.dialect, t) for t in tokens))
            if field == "text":
                return found
            column = Dataset.title if field == "title" else Dataset.description
            # The words, and the text itself in that field (case apart).
            return and_(found, func.lower(column).contains(value.lower()))
        exact = EXACT.get(field)
        if exact is not None:
            return exact(value)
        if field == "tags":
            return self.keyword(value)
        if field == "res_format":
            return search.format_condition(value)
        return self._unknown(field)

    def _range(self, node: tree.Range, field: str | None) -> ColumnElement[bool]:
        column = DATE_FIELDS.get(field or "")
        if column is None:
            raise QueryError(f"Ranges are only on {', '.join(DATE_FIELDS)}, not {field!r}")
        low, high = instant(str(node.low.value)), instant(str(node.high.value))
        parts = []
        if low is not None:
            parts.append(column >= low if node.include_low else column > low)
        if high is not None:
            parts.append(column <= high if node.include_high else column < high)
        return and_(true(), *parts)

    @staticmethod
    def _unknown(field: str) -> ColumnElement[bool]:
        known = ", ".join(sorted({*KNOWN, *DATE_FIELDS, *TEXT_FIELDS, "tags", "res_format"}))
        raise QueryError(f"Unknown field {field!r}; this catalogue searches: {known}")


_OPERATORS = {tree.AndOperation: "AND", tree.OrOperation: "OR", tree.UnknownOperation: " "}


def _flatten(node: tree.Item) -> tuple[list[tree.Item], list[str]]:
    """The operands of a run of boolean operations, in the order written, and the operator
    between each two (``AND``, ``OR``, or ``" "`` for side by side); groups stay whole."""
    operator = _OPERATORS.get(type(node))
    if operator is None:
        return [node], []
    operands: list[tree.Item] = []
    operators: list[str] = []
    for position, child in enumerate(node.children):
        inner, between = _flatten(child)
        if position:
            operators.append(operator)
        operands += inner
        operators += between
    return operands, operators


def _identifier(value: str) -> ColumnElement[bool]:
    try:
        return or_(Dataset.id == uuid.UUID(value), Dataset.slug == value)
    except ValueError:
        return Dataset.slug == value


def _always(accepted: str) -> Callable[[str], ColumnElement[bool]]:
    """A field whose every dataset here has the value ``accepted`` (public, active datasets)."""
    return lambda value: true() if value == accepted else false()


EXACT: dict[str, Callable[[str], ColumnElement[bool]]] = {
    "organization": lambda v: Dataset.organization == v,
    "owner_org": lambda v: Dataset.organization == v,
    "name": lambda v: Dataset.slug == v,
    "id": _identifier,
    "license_id": lambda v: Dataset.licence == v,
    "groups": lambda v: Dataset.theme == v,
    "dataset_type": _always("dataset"),
    "type": _always("dataset"),
    "capacity": _always("public"),
    "state": _always("active"),
    "private": _always("false"),
}
KNOWN = {*EXACT, "tags", "res_format"}

_NOW = re.compile(r"NOW((?:[+-]\d+(?:YEAR|MONTH|DAY|HOUR|MINUTE|SECOND)S?)*)(/(?:DAY|HOUR))?")
_STEP = re.compile(r"([+-]\d+)(YEAR|MONTH|DAY|HOUR|MINUTE|SECOND)S?")
_UNITS = {"DAY": 86400, "HOUR": 3600, "MINUTE": 60, "SECOND": 1, "MONTH": 30 * 86400}


def instant(value: str, now: datetime | None = None) -> datetime | None:
    """A Solr date (``2024-01-01T00:00:00.000Z``, ``NOW-7DAYS``, ``NOW/DAY``); None for ``*``."""
    if value == "*":
        return None
    found = _NOW.fullmatch(value)
    if found:
        moment = now or datetime.now(UTC)
        for amount, unit in _STEP.findall(found.group(1)):
            if unit == "YEAR":
                moment = moment.replace(year=moment.year + int(amount))
            else:
                moment += timedelta(seconds=int(amount) * _UNITS[unit])
        if found.group(2) == "/DAY":
            moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        elif found.group(2) == "/HOUR":
            moment = moment.replace(minute=0, second=0, microsecond=0)
        return moment
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"Not a date: {value!r} (e.g. 2024-01-31T00:00:00Z or NOW-1DAY)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def translate(
    queries: list[str], dialect: str, keyword: Callable[[str], ColumnElement[bool]]
) -> tuple[ColumnElement[bool], list[str]]:
    """One condition for every query (``q`` and each ``fq``) together, and the words searched."""
    translator = Translator(dialect, keyword)
    conditions: list[Any] = []
    for query in queries:
        node = parse(query)
        if node is not None:
            conditions.append(translator.condition(node))
    return and_(true(), *conditions), translator.words
