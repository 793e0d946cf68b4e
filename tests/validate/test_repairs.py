"""Safe repairs: every real file comes out readable, and every altered cell is in the list."""

import csv
import io
import json
import shutil
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import pytest

from datacommune.validate.checks import repairs
from datacommune.validate.reading import sniff
from datacommune.validate.registry import BUILTIN, Registry, SchemaEntry, load_entry
from datacommune.validate.reports import report as reports
from tests import figures

REGISTRY = Registry.from_dirs([BUILTIN])
REAL = [
    "com-castelmaurou-subventions.csv",
    "com-digne-les-bains-prenoms-2017.csv",
    "com-poitiers-subventions-associations-2017.csv",
    "dep46-lot-subventions-2017.csv",
    "dep58-nievre-subventions-2016.csv",
    "dep80-somme-subventions-20180302.csv",
    "irve-driveco-20201215.csv",
    "montpellier-subventions-associations.csv",
    "rennes-bp2019-subventions-associations.csv",
    "toulouse-metropole-subventions-2022.csv",
]


def schema_for(reference: Path, name: str) -> SchemaEntry | None:
    if "subvention" in name:
        return REGISTRY.get("scdl-subventions")
    if "prenoms" in name:
        raw = json.loads((reference / "schemas/scdl-prenoms/schema.json").read_text())
        return load_entry("scdl-prenoms", raw)
    return None


def read_rows(path: Path, encoding: sniff.Encoding, delimiter: str) -> list[list[str]]:
    data = path.read_bytes()[encoding.skip :].decode(encoding.name)
    return list(csv.reader(io.StringIO(data, newline=""), delimiter=delimiter))


def replay(original: list[list[str]], changes: list[repairs.Change]) -> list[list[str]]:
    """Apply the change list to the original rows: it must give the repaired file exactly."""
    removed_rows = {c.row for c in changes if c.kind == "empty-row"}
    removed_columns = {c.column for c in changes if c.kind == "empty-column"}
    cells = {(c.row, c.column): c for c in changes if c.kind not in ("empty-row", "empty-column")}
    out = []
    for number, row in enumerate(original, start=1):
        if number in removed_rows:
            continue
        new_row = []
        for column, cell in enumerate(row, start=1):
            if column in removed_columns:
                continue
            change = cells.pop((number, column), None)
            if change is not None:
                assert change.before == cell
                cell = str(change.after)
            new_row.append(cell)
        out.append(new_row)
    assert cells == {}, "changes that match no cell"
    return out


@pytest.mark.parametrize("name", REAL)
def test_real_files_come_out_clean_and_every_change_is_listed(
    reference: Path, tmp_path: Path, name: str
) -> None:
    source = tmp_path / "file.csv"
    shutil.copyfile(reference / "real" / name, source)
    schema = schema_for(reference, name)
    encoding = sniff.detect_encoding(source)
    dialect = sniff.detect_dialect(sniff.sample_text(source, encoding))
    fixed, log = tmp_path / "fixed.csv", tmp_path / "changes.jsonl"
    with log.open("w", encoding="utf-8") as out:
        result = repairs.repair(
            source, encoding=encoding, dialect=dialect, schema=schema, target=fixed, log=out
        )

    original = read_rows(source, encoding, dialect.delimiter)
    repaired = list(csv.reader(io.StringIO(fixed.read_text(encoding="utf-8"), newline="")))
    changes = repairs.read_log(log)
    assert len(changes) == result.total
    assert replay(original, changes) == repaired
    document = tmp_path / "changes.json"
    repairs.write_document(result, log, document)
    assert json.loads(document.read_text())["changes"] == [asdict(c) for c in changes]

    after = reports.check(fixed, schema=schema)
    assert after["source"]["encoding"]["name"] == "utf-8"
    assert after["source"]["encoding"]["bom"] is None
    assert after["source"]["dialect"]["delimiter"] == ","
    left = after["summary"]["error_types"]
    assert "encoding-error" not in left
    assert "blank-row" not in left
    assert "extra-cell" not in left
    assert "missing-cell" not in left
    for issue in after["issues"]:
        if issue["type"] == "type-error":
            assert not any(t in (issue["note"] or "") for t in ("number", "integer", "date"))


def test_the_somme_file_loses_its_date_and_number_errors(reference: Path, tmp_path: Path) -> None:
    source = tmp_path / "file.csv"
    shutil.copyfile(reference / "real/dep80-somme-subventions-20180302.csv", source)
    schema = REGISTRY.get("scdl-subventions")
    before = reports.check(source, schema=schema)
    assert before["summary"]["error_types"]["type-error"] == 82
    encoding = sniff.detect_encoding(source)
    dialect = sniff.detect_dialect(sniff.sample_text(source, encoding))
    fixed = tmp_path / "fixed.csv"
    with (tmp_path / "log.jsonl").open("w", encoding="utf-8") as out:
        result = repairs.repair(
            source, encoding=encoding, dialect=dialect, schema=schema, target=fixed, log=out
        )
    assert result.file == ["encodage cp1252 → utf-8", "BOM retiré", "séparateur « ; » → « , »"]
    assert result.counts == {"date": 41, "number": 41, "period": 41, "enum": 1}
    period = next(c for c in result.sample if c.kind == "period")
    assert (period.before, period.after) == ("2017/09/08_2021/09/07", "2017-09-08/2021-09-07")
    first_date = next(c for c in result.sample if c.kind == "date")
    assert (first_date.before, first_date.after) == ("2017/09/08", "2017-09-08")
    first_amount = next(c for c in result.sample if c.kind == "number")
    assert (first_amount.before, first_amount.after) == ("26 956,00", "26956.00")
    after = reports.check(fixed, schema=schema)
    assert "type-error" not in after["summary"]["error_types"]


@pytest.mark.parametrize(
    ("text", "integer", "fixed"),
    [
        ("26 956,00", False, "26956.00"),
        ("17\u00a0833", True, "17833"),
        ("1\u202f234,5", False, "1234.5"),
        ("1.234,56", False, "1234.56"),
        ("0,5", False, "0.5"),
        ("100000,1", False, "100000.1"),
        ("1,500", False, None),  # one and a half, or fifteen hundred: not certain
        ("2,43E+13", False, None),
        ("1500", False, None),
        ("12,5", True, None),
    ],
)
def test_numbers(text: str, integer: bool, fixed: str | None) -> None:
    assert repairs.repair_number(text, integer) == fixed


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("05/12/2016", "2016-12-05"),
        ("5/1/2016", "2016-01-05"),
        ("24-06-2019", "2019-06-24"),
        ("2017/09/08", "2017-09-08"),
        ("31/02/2020", None),
        ("12/25/2020", None),  # a US date: month 25 does not exist, nothing is guessed
        ("2020-01-01", None),
    ],
)
def test_dates(text: str, fixed: str | None) -> None:
    assert repairs.repair_date(text) == fixed


# SCDL subventions' datesPeriodeVersement: one date, or an ISO 8601 interval.
PERIOD = r"^[0-9]{4}\-[0-9]{2}\-[0-9]{2}(\/[0-9]{4}\-[0-9]{2}\-[0-9]{2})?$"


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("2018-01-01_2018-03-31", "2018-01-01/2018-03-31"),  # as the Lot wrote them in 2017
        ("2018-01-01 au 2018-03-31", "2018-01-01/2018-03-31"),
        ("2018-01-01/2018-03-31", None),  # already right
        ("2018-02-30_2018-03-31", None),  # not a real date
        ("2018-01-01_31/03/2018", None),  # which date format? not guessed
        ("2018/01/30_2022/01/29", "2018-01-30/2022-01-29"),  # both sides written alike
        ("30/01/2018_29/01/2022", "2018-01-30/2022-01-29"),
        ("30/01/2018_2022/01/29", None),  # a mix: not guessed
        ("2018/02/30_2022/01/29", None),  # not a real date
    ],
)
def test_periods_get_the_interval_slash_the_pattern_asks_for(text: str, fixed: str | None) -> None:
    assert repairs.repair_period(text, PERIOD) == fixed


def test_a_pattern_that_does_not_want_an_interval_is_left_alone() -> None:
    assert repairs.repair_period("2018-01-01_2018-03-31", r"^.*$") is None


def test_booleans_take_the_schemas_words() -> None:
    spec = {"type": "boolean", "trueValues": ["oui"], "falseValues": ["non"]}
    assert repairs.repair_boolean("Non", spec) == "non"
    assert repairs.repair_boolean("yes", spec) == "oui"
    assert repairs.repair_boolean("non", spec) is None
    assert repairs.repair_boolean("peut-être", spec) is None


KINDS_OF_AID = ["aide en numéraire", "aide en nature", "Aide en nature"]


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("Aide en numéraire", "aide en numéraire"),  # only the capital differs
        ("AIDE EN NUMERAIRE", "aide en numéraire"),  # and the accent
        ("aide  en numéraire", "aide en numéraire"),  # a doubled space
        ("aide en numéraire", None),  # already right
        ("aide en nature", None),  # already right, though another value differs by case only
        ("AIDE EN NATURE", None),  # two allowed values differ from it only by case: not guessed
        ("subvention", None),  # no allowed value near it: left to the report
    ],
)
def test_allowed_values_differing_only_by_case_or_accents(text: str, fixed: str | None) -> None:
    assert repairs.repair_enum(text, KINDS_OF_AID) == fixed


ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


@pytest.mark.parametrize(
    ("text", "pattern", "fixed"),
    [
        ("05/12/2016", ISO_DATE, "2016-12-05"),
        ("2016-12-05", ISO_DATE, None),  # already right
        ("31/02/2016", ISO_DATE, None),  # not a real date
        ("05/12/2016", r"^[0-9]{2}/[0-9]{2}/[0-9]{4}$", None),  # the pattern wants it so
        ("05/12/2016", r"^[0-9]{4}$", None),  # the repaired value would not pass either
    ],
)
def test_french_dates_in_text_fields_with_an_iso_pattern(
    text: str, pattern: str, fixed: str | None
) -> None:
    assert repairs.repair_text_date(text, pattern) == fixed


def test_what_is_left_for_a_person_on_the_real_files(reference: Path, tmp_path: Path) -> None:
    """Per real file: errors as sent, after the safe repairs, and after the safe repairs with
    the proposed column mapping confirmed; then what is left, by kind, for the closing note."""
    lines = [f"{'file':<48} {'sent':>6} {'repaired':>9} {'+mapping':>9}  valid"]
    left: Counter[str] = Counter()
    for name in REAL:
        schema = schema_for(reference, name)
        if schema is None:
            continue
        source = tmp_path / name
        shutil.copyfile(reference / "real" / name, source)
        sent, _ = reports.check_with_repair(source, schema=schema)
        repaired, _ = reports.check_with_repair(source, schema=schema, fix=True)
        proposed = (sent.get("mapping") or {}).get("proposed") or []
        renames = {p["column"]: p["field"] for p in proposed}
        mapped = repaired
        if renames:
            mapped, _ = reports.check_with_repair(source, schema=schema, renames=renames)
        counts = [r["summary"]["errors"] for r in (sent, repaired, mapped)]
        # Safe repairs never add an error; a confirmed mapping may reveal the errors of the
        # columns it names (they were only « missing » before).
        assert counts[1] <= counts[0], name
        for group in mapped["groups"]:
            if group["severity"] == "error":
                kind = f"{group['type']} ({group['rule']})" if group["rule"] else group["type"]
                left[kind] += group["count"]
        lines.append(
            f"{name:<48} {counts[0]:>6} {counts[1]:>9} {counts[2]:>9}  "
            f"{'oui' if mapped['valid'] else 'non'}"
        )
    lines.append("left for a person: " + ", ".join(f"{k} {n}" for k, n in left.most_common()))
    figures.record("repairs-real-files", "\n".join(lines))
