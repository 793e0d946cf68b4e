"""The columnar engine finds exactly what frictionless finds: same findings, same order, same
messages, same rows — on generated files for every shipped schema, on hand-made files that
stress the reading of records, and on the whole reference corpus. Where it hands a file over to
frictionless, the report says so and why.
"""

import csv
import json
import os
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from datacommune.validate.checks import repairs
from datacommune.validate.columnar import custom, reader, untouched
from datacommune.validate.reading import prepare, sniff
from datacommune.validate.registry import BUILTIN, Registry, load_entry
from datacommune.validate.reports import report as reports
from tests.validate.differential import compare, generate

REGISTRY = Registry.from_dirs([BUILTIN])
# Rows generated per schema: bounded here; the larger run sets it (docs/validation.md).
ROWS = int(os.environ.get("DATACOMMUNE_DIFFERENTIAL_ROWS", "1500"))


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 32 KiB: a generated file spans dozens, so findings, ragged records, ``unique``
    and primary keys cross the batches' edges."""
    monkeypatch.setattr(reader, "BLOCK_BYTES", 32 * 1024)


@pytest.mark.usefixtures("small_batches")
@pytest.mark.parametrize("entry", REGISTRY.all(), ids=lambda e: e.id)
def test_generated_files_give_frictionless_s_findings(entry, tmp_path: Path) -> None:
    source = tmp_path / "generated.csv"
    generate(entry.descriptor, ROWS, seed=20261206, path=source)
    compared = compare(source, entry, tmp_path / "work")
    assert compared.unsupported is None
    assert not compared.differences(), "\n".join(compared.differences())
    # The file exercised the checks: many findings, of many kinds.
    assert len({f["type"] for f in compared.found}) >= 3
    assert len(compared.found) > ROWS // 2


@pytest.mark.usefixtures("small_batches")
@pytest.mark.parametrize("entry", REGISTRY.all(), ids=lambda e: e.id)
def test_both_engines_make_the_same_report(entry, tmp_path: Path) -> None:
    """The whole report — counts, examples, groups and their rows, messages — whether the
    findings came from the engine a row at a time or from frictionless's list."""
    source = tmp_path / "generated.csv"
    generate(entry.descriptor, ROWS // 3, seed=7, path=source)
    made = {}
    for name in ("columnar", "frictionless"):
        copy = tmp_path / name / "file.csv"
        copy.parent.mkdir()
        copy.write_bytes(source.read_bytes())
        made[name] = reports.check(copy, schema=entry, engine=name)  # type: ignore[arg-type]
    for report in made.values():
        report.pop("seconds")
        assert report.pop("engine")["name"] in made
    assert made["columnar"] == made["frictionless"]
    assert made["columnar"]["groups"]


SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"unique": True, "minimum": 1}},
        {"name": "code", "type": "string", "constraints": {"pattern": r"\d{5}|2[AB]\d{3}"}},
        {"name": "montant", "type": "number", "decimalChar": ",", "constraints": {"maximum": 10}},
        {"name": "choix", "type": "string", "constraints": {"enum": ["oui", "non"]}},
        {"name": "jour", "type": "date", "format": "%d/%m/%Y"},
        {"name": "note", "type": "string", "constraints": {"required": True, "maxLength": 3}},
    ],
    "primaryKey": ["id", "code"],
    "missingValues": ["", "NA"],
}

# Files whose records are hard to read the same way: empty lines, ragged records after a cell
# holding line breaks, CRLF, no final line break, quotes after a closing quote.
HARD = {
    "ragged after a multi-line cell": (
        "id;code;montant;choix;jour;note\n"
        '1;"31\n555";9,5;oui;01/02/2024;abc\n'
        "2;31555;10,0000000001;non\n"
        "3;2A004;10;peut-être;31/02/2024;abcd;extra\n"
        "\n"
        "3;٣١٥٥٥;1,5;oui;1/2/2024;NA\n"
        ";;;;;\n"
        "NA;NA;NA;NA;NA;NA\n"
        '4;"31555"x;1.5;non;01/01/2024;"a""b"\n'
        "5;31555 ;-0,0;Oui;01/01/2024;ab\n"
        "1;31555;9;oui;01/01/2024;x"
    ),
    "crlf and a blank last line": (
        "id;code;montant;choix;jour;note\r\n"
        "1;31555;1;oui;01/01/2024;a\r\n"
        "1;31555;1;oui;01/01/2024;a\r\n"
        "2;2B999;+1;non;29/02/2023;\r\n"
        "\r\n"
    ),
    "a top-level alternation binds the anchors": (
        "id;code;montant;choix;jour;note\n"
        "1;12345xyz;1;oui;01/01/2024;a\n"
        "2;z2A004;1;oui;01/01/2024;a\n"
        "3;2A004;1;oui;01/01/2024;a\n"
        "4;1234;1;oui;01/01/2024;a\n"
    ),
}


@pytest.mark.parametrize("name", HARD)
def test_hard_records_give_frictionless_s_findings(name: str, tmp_path: Path) -> None:
    source = tmp_path / "hard.csv"
    source.write_bytes(HARD[name].encode())
    compared = compare(source, load_entry("hard", SCHEMA), tmp_path / "work")
    assert compared.unsupported is None
    assert not compared.differences(), "\n".join(compared.differences())
    assert compared.found


def test_keyed_fields_findings_lead_their_row_as_frictionless_reads_them(tmp_path: Path) -> None:
    """frictionless reads a row's ``unique`` fields, then its primary key's, before the rest:
    their findings come first, also in a ragged row."""
    schema = {
        "fields": [
            {"name": "a", "type": "integer"},
            {"name": "b", "type": "integer", "constraints": {"unique": True}},
            {"name": "c", "type": "integer", "constraints": {"maximum": 5}},
        ],
        "primaryKey": ["c", "a"],
    }
    source = tmp_path / "keys.csv"
    source.write_text("a,b,c\nx,y,9\n1,1,1\nz,1,w,extra\n2,q\n")
    compared = compare(source, load_entry("keys", schema), tmp_path / "work")
    assert compared.unsupported is None
    assert not compared.differences(), "\n".join(compared.differences())
    assert [f["field"] for f in compared.found[:3]] == ["b", "c", "a"]


@pytest.mark.parametrize(
    "text",
    ["a\n\n\n1\n", "a,b\n1,2\n\n3\n4,5,6\n", "a,b\n1,2", "a\n", "a,b,c\n1,2,3\n,,\n"],
    ids=["one column and empty lines", "inferred", "no final break", "header only", "blank"],
)
def test_without_a_schema_the_inferred_one_is_checked_alike(text: str, tmp_path: Path) -> None:
    source = tmp_path / "plain.csv"
    source.write_text(text)
    compared = compare(source, None, tmp_path / "work")
    assert compared.unsupported is None
    assert not compared.differences(), "\n".join(compared.differences())


def test_the_report_names_its_engine_and_why_frictionless_read_a_file(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("a,b\n1,2\n")
    assert reports.check(plain, schema=None)["engine"] == {"name": "columnar"}
    # Spaces after each comma: frictionless sniffs « skip initial space », which pyarrow does
    # not read the same; the file is handed over, visibly.
    spaced = tmp_path / "spaced.csv"
    spaced.write_text("a, b\n1, 2\n3, 4\n5, 6\n")
    engine = reports.check(spaced, schema=None)["engine"]
    assert engine["name"] == "frictionless"
    assert "spacing" in engine["reason"]


# Corpus files the engine hands over to frictionless, and why (the others must all match).
HANDED_OVER = {
    "frictionless/escaping.csv": "a CSV dialect with other quoting or spacing",
    # Repeated labels with columns matched by name: frictionless refuses to open the table.
    "frictionless/capital-invalid.csv": "frictionless cannot open the table",
    "frictionless/duplicate-column.csv": "frictionless cannot open the table",
    "frictionless/duplicate-headers.csv": "frictionless cannot open the table",
    "frictionless/invalid.csv": "frictionless cannot open the table",
    "schemas/scdl-subventions/exemple-duplicate-column.csv": "frictionless cannot open the table",
}
SIDE_SCHEMAS = ["schema-valid.json", "unique-field.json", "duplicate-column-schema.json"]


def test_every_corpus_file_gives_frictionless_s_findings(reference: Path, tmp_path: Path) -> None:
    compared_pairs = 0
    handed: set[str] = set()
    for path in sorted(reference.rglob("*")):
        if path.suffix.lower() not in (".csv", ".tsv", ".txt"):
            continue
        rel = path.relative_to(reference)
        schemas = [None]
        if rel.parts[0] == "schemas":
            descriptor = json.loads((path.parent / "schema.json").read_text())
            schemas.append(load_entry(rel.parts[1], descriptor))
        if rel.parts[0] in ("real", "validata") or "subvention" in path.name:
            schemas.append(REGISTRY.get("scdl-subventions"))
        if rel.parts[0] == "frictionless":
            for name in SIDE_SCHEMAS:
                descriptor = json.loads((reference / "frictionless" / name).read_text())
                schemas.append(load_entry(Path(name).stem, descriptor))
        for schema in schemas:
            work = tmp_path / f"{compared_pairs}"
            try:
                compared = compare(path, schema, work)
            except AssertionError:
                continue  # refused before reading (empty, undecodable): no engine runs
            compared_pairs += 1
            if compared.unsupported:
                handed.add(str(rel))
                assert str(rel) in HANDED_OVER, (rel, compared.unsupported)
                assert compared.unsupported.startswith(HANDED_OVER[str(rel)])
                continue
            assert not compared.differences(), (rel, schema and schema.id, compared.differences())
    assert compared_pairs > 150
    assert handed == set(HANDED_OVER)


def test_counts_say_at_least_only_where_counting_stopped(tmp_path: Path) -> None:
    """The columnar engine counts every finding, past frictionless's cap of 50,000; a file
    frictionless reads (and stops on) says « au moins » and why."""
    rows = 20_000
    source = tmp_path / "many.csv"
    source.write_text("id;code;montant;choix;jour;note\n" + "x;1;1;oui;01/01/2024;a\n" * rows)
    schema = load_entry("hard", SCHEMA)
    counted = reports.check(source, schema=schema)
    assert counted["engine"] == {"name": "columnar"}
    # A type error and a pattern error a row, and the same primary key from the second row on.
    assert counted["summary"]["errors"] == 3 * rows - 1
    assert not counted["summary"]["truncated"]
    assert "au moins" not in counted["message"]["fr"]
    again = tmp_path / "again.csv"
    again.write_bytes(source.read_bytes())
    stopped = reports.check(again, schema=schema, engine="frictionless")
    assert stopped["summary"]["truncated"]
    assert stopped["message"]["fr"].startswith(
        "Le fichier n'est pas conforme au schéma hard@0 : au moins 50000 erreurs"
    )
    assert "arrêtée à 50\u202f000 constats" in stopped["message"]["fr"]


@pytest.mark.parametrize("dialect", ["utf-8,", "cp1252;"])
@pytest.mark.parametrize("entry", REGISTRY.all(), ids=lambda e: e.id)
def test_the_repair_copies_as_read_only_rows_it_would_not_change(
    entry, dialect: str, tmp_path: Path
) -> None:
    """The repaired file and its change list are byte for byte those of the cell-by-cell
    repair, when the rows the bulk reading clears are copied as read."""
    generated = tmp_path / "generated.csv"
    generate(entry.descriptor, ROWS // 3, seed=11, path=generated, ragged=False)
    encoding, delimiter = dialect[:-1], dialect[-1]
    path = tmp_path / "file.csv"
    with (
        generated.open(encoding="utf-8", newline="") as src,
        path.open("w", encoding=encoding, errors="replace", newline="") as out,
    ):
        csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(csv.reader(src))
    read = prepare.text(path, encoding=None, delimiter=None)
    assert not isinstance(read, prepare.Refusal)
    found = untouched.find(read.path, read.delimiter, entry)
    assert found is not None
    assert 0 < len(found.to_look_at) < found.rows - 1
    made = _both_ways(path, read, found, entry, tmp_path)
    assert made["copying"] == made["cell by cell"]
    assert made["copying"][2]  # the file had padding, commas, dates… to repair
    # The engine finds the same rows as it checks the file (small batches: many of them).
    again = tmp_path / "again" / "file.csv"
    again.parent.mkdir()
    again.write_bytes(path.read_bytes())
    clearing = untouched.Clearing(entry)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "BLOCK_BYTES", 32 * 1024)
        reports.check(again, schema=entry, clearing=clearing)
    assert clearing.complete
    assert clearing.result() == found


def _both_ways(
    path: Path, read: prepare.Text, found: untouched.Untouched, entry, tmp_path: Path
) -> dict[str, tuple[bytes, bytes, dict[str, int]]]:
    """The repaired file, the change list and the counts, cell by cell and copying the rows
    ``found`` clears."""
    made = {}
    for name, hint in (("cell by cell", None), ("copying", found)):
        target, log = tmp_path / f"{name}.csv", tmp_path / f"{name}.jsonl"
        with log.open("w", encoding="utf-8") as out:
            result = repairs.repair(
                path,
                encoding=sniff.Encoding(**read.source["encoding"]),
                dialect=sniff.Dialect(**read.source["dialect"]),
                schema=entry,
                target=target,
                log=out,
                untouched=hint,
            )
        made[name] = (target.read_bytes(), log.read_bytes(), result.counts)
    return made


@pytest.mark.parametrize("dialect", ["utf-8,", "cp1252;", "utf-8\t"])
def test_rows_copied_as_read_are_written_as_the_csv_writer_writes_them(
    dialect: str, tmp_path: Path
) -> None:
    """The rows a repair copies are written from their line where no cell holds a quote or a
    comma, and read as records otherwise (quotes, commas, line breaks in cells, empty cells and
    lines, CR, CRLF and LF endings): byte for byte what reading and writing each record gives."""
    rng = random.Random(5)
    pieces = ["a", "é", "1", "", ",", ";", "\t", '"', "x y", "\n", "\r\n", "€", "\\"]
    encoding, delimiter = dialect[:-1], dialect[-1]
    writer_rows = [
        ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))) for _ in range(4)]
        for _ in range(2000)
    ]
    path = tmp_path / "file.csv"
    with path.open("w", encoding=encoding, newline="") as out:
        out.write(delimiter.join("abcd") + "\r\n")
        for i, row in enumerate(writer_rows):
            ending = rng.choice(["\r\n", "\n"]) if i < len(writer_rows) - 1 else ""
            csv.writer(out, delimiter=delimiter, lineterminator=ending).writerow(row)
    read = prepare.text(path, encoding=encoding, delimiter=delimiter)
    assert not isinstance(read, prepare.Refusal)
    found = untouched.find(read.path, delimiter, None)
    assert found is not None
    assert len(found.to_look_at) < 1000  # the padded rows
    made = _both_ways(path, read, found, None, tmp_path)
    assert made["copying"] == made["cell by cell"]
    assert made["copying"][0].count(b"\n") > 2000


def test_a_letter_or_a_digit_is_found_as_the_regex_finds_it() -> None:
    # one-of-required's test looks at each cell's first character, then searches only the
    # others: the same verdicts as searching every cell, on cells mixing spaces, punctuation,
    # non-ASCII letters and digits, line breaks, in every position.
    alphabet = ["", *" éÉaZ09-_\u00a0٣ß\t€\r"]
    rng = random.Random(18)
    for _ in range(30):
        cells = [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
            for _ in range(rng.randint(0, 2000))
        ]
        text = pa.array(cells, pa.string())
        searched = pc.fill_null(pc.match_substring_regex(text, custom.FILLED), False)
        assert custom._letter_or_digit(text).equals(searched)


@pytest.mark.parametrize("rule", [custom._siret, custom._siren, custom._insee])
def test_verdicts_remembered_across_batches_are_the_rule_s_own(
    rule: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of a file share what a rule said of each value (custom._per_value): every batch's
    # verdicts are those of the rule run on that batch alone, also once the memory is full.
    rng = random.Random(18)
    pool = [
        "21310457000014",  # a SIRET whose key holds
        "21310457000015",
        "35600000000048",  # La Poste's rule
        "356000000",
        "732829320",
        "31555",
        "2A004",
        "97501",
        "",
        " 21310457000014",
        "２１３１０４５７００００１４",  # full-width digits
        *(f"{rng.randrange(10**14):014d}" for _ in range(40)),
        *(f"{rng.randrange(10**9):09d}" for _ in range(20)),
    ]
    for limit in (100_000, 30):
        monkeypatch.setattr(custom, "_KNOWN", limit)
        known: dict[str, bool] = {}
        for _ in range(12):
            # Few distinct values a batch, so that the dictionary's way is taken.
            batch = pa.array([rng.choice(pool[: rng.randint(3, len(pool))]) for _ in range(200)])
            expected = pc.fill_null(rule(batch), False)  # type: ignore[operator]
            got = pc.fill_null(custom._per_value(rule, batch, known), False)  # type: ignore[arg-type]
            assert got.equals(expected)
        assert len(known) <= limit
