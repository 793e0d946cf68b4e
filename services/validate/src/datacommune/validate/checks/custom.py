"""The French checks schemas declare in ``custom_checks``, run by frictionless beside its own.

Validata runs these for schema.data.gouv.fr; frictionless ignores the key. Each check is built
from the parameters the schema declares, and reports in French with the error types Validata
uses, so a report reads the same on both. Names are matched as Validata spells them, whatever
the hyphens, underscores or case. A declared check that still cannot run is named in every
report as not run, and the file is then never called « conforme »: never a silent pass.
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs
from frictionless import Check, Error, Row

from datacommune.validate.checks import opening_hours
from datacommune.validate.checks.custom_errors import (
    CohesiveColumnsError,
    CompareColumnsError,
    FrenchGpsError,
    FrenchSirenError,
    FrenchSiretError,
    InseeCodeError,
    MissingColumnsError,
    NomenclatureActesError,
    OneOfRequiredError,
    OpeningHoursError,
    ReversedGpsError,
    SumColumnsError,
    YearIntervalError,
)
from datacommune.validate.checks.french_rules import (
    ACTES,
    insee_ok,
    siren_ok,
    siret_ok,
    territory,
)


def _plain(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", ascii_text).strip().lower()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _has(row: Row, name: str) -> bool:
    return name in row.field_names


@attrs.define(kw_only=True, repr=False)
class CellCheck(Check):
    """A check of one column's cells; empty cells are left to ``required``."""

    column: str

    def validate_row(self, row: Row) -> Iterable[Error]:
        if not _has(row, self.column):
            return
        value = row[self.column]
        if _blank(value):
            return
        yield from self.check(row, value)

    def check(self, row: Row, value: Any) -> Iterator[Error]:
        raise NotImplementedError


@attrs.define(kw_only=True, repr=False)
class FrenchSiret(CellCheck):
    type = "french-siret-value"
    Errors = [FrenchSiretError]

    def check(self, row: Row, value: Any) -> Iterator[Error]:
        if not siret_ok(str(value).strip()):
            yield FrenchSiretError.from_row(row, note="", field_name=self.column)


@attrs.define(kw_only=True, repr=False)
class FrenchSiren(CellCheck):
    type = "french-siren-value"
    Errors = [FrenchSirenError]

    def check(self, row: Row, value: Any) -> Iterator[Error]:
        if not siren_ok(str(value).strip()):
            yield FrenchSirenError.from_row(row, note="", field_name=self.column)


@attrs.define(kw_only=True, repr=False)
class InseeCode(CellCheck):
    type = "french-insee-code-value"
    Errors = [InseeCodeError]

    def check(self, row: Row, value: Any) -> Iterator[Error]:
        if not insee_ok(str(value).strip()):
            yield InseeCodeError.from_row(row, note="", field_name=self.column)


@attrs.define(kw_only=True, repr=False)
class OpeningHours(CellCheck):
    type = "opening-hours-value"
    Errors = [OpeningHoursError]

    def check(self, row: Row, value: Any) -> Iterator[Error]:
        if not opening_hours.valid(str(value)):
            yield OpeningHoursError.from_row(row, note="", field_name=self.column)


@attrs.define(kw_only=True, repr=False)
class YearInterval(CellCheck):
    type = "year-interval-value"
    Errors = [YearIntervalError]
    allow_year_only: bool = False

    def check(self, row: Row, value: Any) -> Iterator[Error]:
        text = str(value).strip()
        if re.fullmatch(r"\d{4}", text):
            if not self.allow_year_only:
                yield YearIntervalError.from_row(
                    row, note="une année seule n'est pas admise", field_name=self.column
                )
            return
        m = re.fullmatch(r"(\d{4})/(\d{4})", text)
        if m is None:
            note = "attendu AAAA/AAAA" + (" ou AAAA" if self.allow_year_only else "")
            yield YearIntervalError.from_row(row, note=note, field_name=self.column)
        elif int(m.group(1)) >= int(m.group(2)):
            yield YearIntervalError.from_row(
                row, note="la première année doit précéder la seconde", field_name=self.column
            )


@attrs.define(kw_only=True, repr=False)
class NomenclatureActes(CellCheck):
    type = "nomenclature-actes-value"
    Errors = [NomenclatureActesError]

    def check(self, row: Row, value: Any) -> Iterator[Error]:
        text = str(value)
        if "/" not in text:
            note = "il manque « / » entre la matière et la sous-matière"
        elif _plain(text.split("/", 1)[0]) not in ACTES:
            note = "la matière (avant « / ») n'est pas dans la nomenclature"
        else:
            return
        yield NomenclatureActesError.from_row(row, note=note, field_name=self.column)


@attrs.define(kw_only=True, repr=False)
class FrenchGps(Check):
    """Points in France: one geopoint column, or a longitude and a latitude column."""

    type = "french-gps-coordinates"
    Errors = [FrenchGpsError, ReversedGpsError]
    column: str | None = None
    longitude: str | None = None
    latitude: str | None = None

    def validate_row(self, row: Row) -> Iterable[Error]:
        point = self._point(row)
        if point is None:
            return
        lon, lat = point
        field = self.column or self.longitude or ""
        if territory(lon, lat):
            return
        if place := territory(lat, lon):
            yield ReversedGpsError.from_row(
                row, note=f"échangées, elles tomberaient en {place}", field_name=field
            )
        else:
            yield FrenchGpsError.from_row(row, note=f"lon {lon}, lat {lat}", field_name=field)

    def _point(self, row: Row) -> tuple[float, float] | None:
        if self.column and _has(row, self.column):
            value = row[self.column]
            if _blank(value):
                return None
            if isinstance(value, str):
                parts = re.split(r"[,;\s]+", value.strip(" []"))
                value = parts if len(parts) == 2 else None
            try:
                return float(value[0]), float(value[1])
            except (TypeError, ValueError, IndexError):
                return None
        if (
            self.longitude
            and self.latitude
            and _has(row, self.longitude)
            and _has(row, self.latitude)
        ):
            lon, lat = row[self.longitude], row[self.latitude]
            try:
                return float(lon), float(lat)
            except (TypeError, ValueError):
                return None
        return None


@attrs.define(kw_only=True, repr=False)
class OneOfRequired(Check):
    type = "one-of-required"
    Errors = [OneOfRequiredError, MissingColumnsError]
    column1: str
    column2: str

    def validate_start(self) -> Iterable[Error]:
        names = self.resource.schema.field_names if self.resource.schema else []
        labels = getattr(self.resource, "labels", None) or []
        if self.column1 not in labels and self.column2 not in labels and names:
            yield MissingColumnsError(
                note=f"Une des deux colonnes requises : Les deux colonnes '{self.column1}' et "
                f"'{self.column2}' sont manquantes."
            )

    def validate_row(self, row: Row) -> Iterable[Error]:
        present = [c for c in (self.column1, self.column2) if _has(row, c)]
        if not present or all(_blank(cell) for cell in row.cells):
            return  # a blank row is reported once, as a blank row
        if all(_blank(row[c]) for c in present):
            yield OneOfRequiredError.from_row(
                row,
                note=f"Au moins l'une des colonnes '{self.column1}' ou '{self.column2}' doit "
                "comporter une valeur.",
            )


@attrs.define(kw_only=True, repr=False)
class CohesiveColumns(Check):
    type = "cohesive-columns-value"
    Errors = [CohesiveColumnsError]
    column: str
    othercolumns: list[str]

    def validate_row(self, row: Row) -> Iterable[Error]:
        columns = [c for c in (self.column, *self.othercolumns) if _has(row, c)]
        filled = [c for c in columns if not _blank(row[c])]
        if filled and len(filled) != len(columns):
            empty = ", ".join(c for c in columns if c not in filled)
            yield CohesiveColumnsError.from_row(
                row,
                note=f"Les colonnes {', '.join(columns)} doivent être toutes remplies ou toutes "
                f"vides ; vides ici : {empty}.",
            )


_OPS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
}


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or _blank(value):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@attrs.define(kw_only=True, repr=False)
class CompareColumns(Check):
    type = "compare-columns-value"
    Errors = [CompareColumnsError]
    column: str
    column2: str
    op: str

    def validate_row(self, row: Row) -> Iterable[Error]:
        if not (_has(row, self.column) and _has(row, self.column2)):
            return
        a, b = row[self.column], row[self.column2]
        if _blank(a) or _blank(b):
            return
        if not isinstance(a, type(b)):
            a, b = _number(a), _number(b)
            if a is None or b is None:
                return
        if not _OPS[self.op](a, b):
            yield CompareColumnsError.from_row(
                row,
                note=f"« {self.column} » ({a}) doit être {self.op} « {self.column2} » ({b}).",
            )


@attrs.define(kw_only=True, repr=False)
class SumColumns(Check):
    type = "sum-columns-value"
    Errors = [SumColumnsError]
    column: str
    columns: list[str]

    def validate_row(self, row: Row) -> Iterable[Error]:
        names = [self.column, *self.columns]
        if not all(_has(row, c) for c in names):
            return
        values = [_number(row[c]) for c in names]
        numbers = [v for v in values if v is not None]
        if len(numbers) != len(values):
            return
        total, expected = numbers[0], sum(numbers[1:], Decimal(0))
        if total != expected:
            yield SumColumnsError.from_row(
                row,
                note=f"« {self.column} » ({total}) doit valoir la somme de "
                f"{' + '.join(self.columns)} ({expected}).",
            )


def _yes(value: Any) -> bool:
    return str(value).strip().lower() in {"yes", "true", "oui", "1"}


@attrs.frozen
class NotRun:
    """A declared check that cannot run: the report names it, and the file is not called
    « conforme » without it."""

    name: str
    fr: str
    en: str

    @property
    def warning(self) -> str:
        """The schema warning, as the schema API lists it."""
        return f"custom check {self.name!r}: {self.en}; not run"


def canonical(name: Any) -> str:
    """A check's name as Validata spells it: ``french_gps_coordinates``, ``French-GPS-Coordinates``
    and `` french-gps-coordinates `` are one check."""
    return re.sub(r"[\s_]+", "-", str(name).strip().lower())


def build(declared: list[dict[str, Any]]) -> tuple[list[Check], list[NotRun]]:
    """Checks for a schema's ``custom_checks``, and what cannot run, each said why."""
    checks: list[Check] = []
    not_run: list[NotRun] = []
    for item in declared:
        declared_name, params = item.get("name"), item.get("params") or {}
        name = canonical(declared_name)
        try:
            match name:
                case "french-siret-value":
                    checks.append(FrenchSiret(column=params["column"]))
                case "french-siren-value":
                    checks.append(FrenchSiren(column=params["column"]))
                case "french-insee-code-value" | "insee-code-value":
                    checks.append(InseeCode(column=params["column"]))
                case "opening-hours-value":
                    checks.append(OpeningHours(column=params["column"]))
                case "year-interval-value":
                    checks.append(
                        YearInterval(
                            column=params["column"],
                            allow_year_only=_yes(params.get("allow-year-only", "no")),
                        )
                    )
                case "nomenclature-actes-value":
                    checks.append(NomenclatureActes(column=params["column"]))
                case "french-gps-coordinates":
                    checks.append(
                        FrenchGps(
                            column=params.get("column"),
                            longitude=params.get("longitude"),
                            latitude=params.get("latitude"),
                        )
                    )
                case "one-of-required":
                    checks.append(
                        OneOfRequired(column1=params["column1"], column2=params["column2"])
                    )
                case "cohesive-columns-value":
                    checks.append(
                        CohesiveColumns(
                            column=params["column"], othercolumns=list(params["othercolumns"])
                        )
                    )
                case "compare-columns-value":
                    if params["op"] not in _OPS:
                        raise KeyError("op")
                    checks.append(
                        CompareColumns(
                            column=params["column"], column2=params["column2"], op=params["op"]
                        )
                    )
                case "sum-columns-value":
                    checks.append(
                        SumColumns(column=params["column"], columns=list(params["columns"]))
                    )
                case _:
                    not_run.append(
                        NotRun(
                            str(declared_name),
                            "vérification inconnue de la plateforme",
                            "a check this platform does not know",
                        )
                    )
        except (KeyError, TypeError) as exc:
            not_run.append(
                NotRun(
                    str(declared_name),
                    f"paramètre manquant ou invalide dans le schéma : {exc}",
                    f"missing or invalid parameter in the schema: {exc}",
                )
            )
    return checks, not_run
