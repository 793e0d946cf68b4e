"""Every report the validator stores is a ``datacommune.shared.report.Report``: no key the types
do not know, none they require missing, no value they would change. The types are the contract
ingest documents; this keeps them from drifting from what validate really writes.

Each report is made as in production (``validations.validate_received``, in this process, with
a real NATS server, a migrated database and a local store) and read back as ingest serves it:
over the corpus, with and without a schema, repaired or not, and for each refusal.
"""

import codecs
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.shared import events
from datacommune.shared.bus import Bus
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.outbox import OutboxRelay
from datacommune.shared.report import Report
from datacommune.shared.settings import DatabaseSettings, NatsSettings, StorageSettings
from datacommune.shared.storage import ObjectStore, open_store
from datacommune.validate import validations
from datacommune.validate.reading.limits import MAX_COLUMNS, MAX_LINE_BYTES
from datacommune.validate.reading.records import MAX_RECORD_BYTES
from datacommune.validate.registry import BUILTIN, Registry, load_entry
from datacommune.validate.tables import Outbox
from tests import servers

REPORT = TypeAdapter(Report)
TABLES = {".csv", ".tsv", ".txt", ".xlsx", ".xls", ".ods", ".json"}
MEDIA_TYPES = {ext: media for media, ext in validations.EXTENSIONS.items()}

# Schemas of the cases below, beside the built-in ones: one frictionless refuses, one whose
# pattern is no regular expression (the check crashes), one with typed columns to repair.
TEST_SCHEMAS = Registry(
    [
        load_entry("defectueux", {"fields": [{"name": "a", "type": "nulle-part"}]}),
        load_entry(
            "motif-casse",
            {"fields": [{"name": "a", "type": "string", "constraints": {"pattern": "("}}]},
        ),
        load_entry(
            "montants",
            {
                "fields": [
                    {"name": "nom", "type": "string"},
                    {"name": "montant", "type": "number"},
                    {"name": "date", "type": "date"},
                    {"name": "verse", "type": "boolean", "trueValues": ["oui"]},
                ]
            },
        ),
    ]
)


def conforms(report: dict[str, Any], what: str = "") -> None:
    """``report`` (of ``what``) is a Report, and validating it as one changes nothing: an
    unknown key would be dropped, a mistyped value refused, an int taken for a float written
    ``1.0``."""
    typed = REPORT.validate_python(report, strict=True)
    assert typed == report, what
    assert json.dumps(typed, sort_keys=True) == json.dumps(report, sort_keys=True), what


@dataclass(frozen=True)
class Validator:
    """validate's domain with its real adapters, as its consumer calls it."""

    sessionmaker: async_sessionmaker[AsyncSession]
    store: ObjectStore
    bus: Bus
    registry: Registry
    work_dir: Path

    async def stored(
        self, name: str, content: bytes, *, schema: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """The report validate stores for ``content`` uploaded as ``name``, as ingest reads it;
        ``options`` are the upload's (encoding, delimiter, fix, mapping)."""
        upload_id = uuid.uuid4()
        sent = self.work_dir / f"sent-{upload_id}"
        sent.write_bytes(content)
        key = f"uploads/{upload_id}"
        media_type = MEDIA_TYPES.get(Path(name).suffix, "text/csv")
        await self.store.put_file(key, sent, media_type=media_type)
        file = events.FileRef(
            object_key=key,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            filename=name,
            media_type=media_type,
        )
        event = events.FileReceived(
            source="ingest",
            upload_id=upload_id,
            organization="roques",
            dataset="d",
            schema_id=schema,
            file=file,
            **options,
        )
        await validations.validate_received(
            event,
            sessionmaker=self.sessionmaker,
            store=self.store,
            bus=self.bus,
            # Never started: what validate announces stays in its outbox.
            relay=OutboxRelay(self.sessionmaker, Outbox, self.bus),
            registry=self.registry,
            work_dir=self.work_dir,
            source="validate",
        )
        stored = await self.store.get_bytes(validations.report_keys(upload_id)["json"])
        report: dict[str, Any] = json.loads(stored)
        return report


@pytest.fixture
def validate_url(migrated: servers.MigratedDatabases, tmp_path: Path) -> Iterator[str]:
    """A fresh copy of validate's migrated SQLite database (made outside the event loop)."""
    with migrated.database("validate", "sqlite", tmp_path) as url:
        yield url


@pytest.fixture
async def validator(
    own_nats: servers.NatsServer, validate_url: str, tmp_path: Path
) -> AsyncIterator[Validator]:
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    engine = make_engine(DatabaseSettings(url=validate_url))
    bus = Bus(NatsSettings(url=own_nats.url))
    await bus.connect(name="validate")
    try:
        yield Validator(
            make_sessionmaker(engine),
            await open_store(StorageSettings(root=tmp_path / "files")),
            bus,
            Registry.from_dirs([BUILTIN]).merged(TEST_SCHEMAS),
            work_dir,
        )
    finally:
        await bus.close()
        await engine.dispose()


def tables(root: Path, suffixes: set[str] = TABLES) -> list[Path]:
    """The files under ``root`` validate reads as tables."""
    return sorted(p for p in root.rglob("*") if p.suffix in suffixes)


async def test_every_corpus_report(corpus: Path, validator: Validator) -> None:
    for path in tables(corpus):
        for options in (
            {},
            {"schema": "scdl-subventions"},
            {"schema": "scdl-subventions", "fix": True},
        ):
            report = await validator.stored(path.name, path.read_bytes(), **options)
            conforms(report, f"{path.name} {options}")


def reference_schema(relative: Path) -> str | None:
    """The schema a reference corpus file is an example of, by its folder or name."""
    if relative.parts[0] == "schemas":
        return relative.parts[1]
    if relative.parts[0] == "validata" or "subventions" in relative.name:
        return "scdl-subventions"
    return None


async def test_every_reference_corpus_report(reference: Path, validator: Validator) -> None:
    """The whole reference corpus (beside the checkout), each file as sent and repaired."""
    validator = replace(
        validator,
        registry=Registry.from_dirs([reference / "schemas", BUILTIN]).merged(TEST_SCHEMAS),
    )
    seen: set[str] = set()
    # Its JSON files are schemas, not data.
    for path in tables(reference, TABLES - {".json"}):
        schema = reference_schema(path.relative_to(reference))
        for fix in (False, True):
            report = await validator.stored(path.name, path.read_bytes(), schema=schema, fix=fix)
            conforms(report, f"{path.name} {schema} fix={fix}")
            seen |= report.keys()
    # The corpus reaches the optional parts of a report.
    assert {"mapping", "schema_guess", "repair", "original"} <= seen


def ods(rows: list[list[str]]) -> bytes:
    """A minimal OpenDocument spreadsheet of text cells, its sheet named « Feuille1 »."""
    cells = "".join(
        "<table:table-row>"
        + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{text}</text:p>'
            "</table:table-cell>"
            for text in row
        )
        + "</table:table-row>"
        for row in rows
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
        f'<office:spreadsheet><table:table table:name="Feuille1">{cells}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    return zipped(mimetype="application/vnd.oasis.opendocument.spreadsheet", content=content)


def zipped(**members: str | bytes) -> bytes:
    """A ZIP archive of ``members`` (name → content); ``content`` is ``content.xml``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr("content.xml" if member == "content" else member, data)
    return buffer.getvalue()


def workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["nom", "montant"])
    sheet.append(["Roques", 12.5])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def zip_bomb() -> bytes:
    """A « workbook » of 50 MiB of zeros, a few dozen KiB compressed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    return buffer.getvalue()


MONTANTS = (
    "nom;montant;date;verse\nComité des fêtes;1 200,50;05/12/2016;Oui\nBézier;7,5;2016/09/08;non\n"
).encode("cp1252")
SCDL_V1 = b"COLL_NOM;COLL_SIRET;SUB_MONTANT\nRoques;21310489000015;1200\n"
TEXT = "nom;ville;montant\n" + "Élodie;Roques;12\nJean;Muret;7,5\n" * 40
PRESENT = object()

# (name sent, its bytes, the upload's options, what the report must hold to show the case
# reached the branch it is for: a dotted path, and its value or PRESENT)
CASES = [
    pytest.param(
        "montants.csv",
        lambda: MONTANTS,
        {"schema": "montants"},
        {"repair.applied": False, "repair.after": PRESENT},
        id="repair-proposed",
    ),
    pytest.param(
        "montants.csv",
        lambda: MONTANTS,
        {"schema": "montants", "fix": True},
        {"repair.applied": True, "repair.before": PRESENT, "original": PRESENT},
        id="repair-applied",
    ),
    pytest.param(
        "subventions.csv",
        lambda: SCDL_V1,
        {"schema": "scdl-subventions"},
        {"mapping.proposed.0.field": "nomAttribuant"},
        id="mapping-proposed",
    ),
    pytest.param(
        "subventions.csv",
        lambda: SCDL_V1,
        {
            "schema": "scdl-subventions",
            "mapping": {"COLL_NOM": "nomAttribuant", "COLL_SIRET": "idAttribuant"},
        },
        {"mapping.applied.COLL_NOM": "nomAttribuant", "repair.applied": True},
        id="mapping-applied",
    ),
    pytest.param(
        "subventions.csv",
        lambda: b"nomAttribuant;idAttribuant;objet;montant\nRoques;21310489000015;Fete;1200\n",
        {},
        {"schema_guess.0.id": "scdl-subventions@2.1.1"},
        id="schema-guessed",
    ),
    pytest.param("vide.csv", lambda: b"nom;montant\n", {}, {"summary.rows": 0}, id="header-only"),
    pytest.param(
        "a.csv",
        lambda: b"a\nfoo\n",
        {"schema": "inconnu"},
        {"issues.0.type": "schema-not-found"},
        id="unknown-schema",
    ),
    pytest.param(
        "a.csv",
        lambda: b"a\nfoo\n",
        {"schema": "defectueux"},
        {"issues.0.type": "schema-error"},
        id="defective-schema",
    ),
    pytest.param(
        "a.csv",
        lambda: b"a\nfoo\n",
        {"schema": "motif-casse"},
        {"issues.0.type": "check-failed"},
        id="check-crashed",
    ),
    pytest.param(
        "a.csv",
        lambda: "nom\nÉlodie\n".encode() + "Bézier\n".encode("cp1252"),
        {},
        {"issues.0.type": "encoding-error"},
        id="two-encodings",
    ),
    pytest.param(
        "a.csv",
        lambda: b"nom\nA\n",
        {"encoding": "klingon"},
        {"issues.0.type": "encoding-error"},
        id="unknown-encoding",
    ),
    pytest.param(
        "a.csv",
        lambda: codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le")[:-1],
        {},
        {"issues.0.type": "encoding-error"},
        id="truncated-utf16",
    ),
    pytest.param(
        "a.csv",
        lambda: TEXT.encode("utf-16-le"),
        {},
        {"source.encoding.name": "utf-16-le", "source.encoding.bom": None},
        id="utf16-without-bom",
    ),
    pytest.param(
        "a.csv",
        lambda: b"nom;signe\nA;\x87\x90\nB;\x81\xe0\n",
        {"encoding": "cp932"},
        {"source.encoding.lossless": False},
        id="not-lossless",
    ),
    pytest.param(
        "a.csv", lambda: b"%PDF-1.4\n\0\0", {}, {"issues.0.type": "format-error"}, id="binary"
    ),
    pytest.param(
        "a.csv", lambda: b"\0" * 1000, {}, {"issues.0.type": "format-error"}, id="nul-only"
    ),
    pytest.param("a.csv", lambda: b"", {}, {"issues.0.type": "source-error"}, id="empty"),
    pytest.param(
        "a.csv", lambda: b";;\n;;\n", {}, {"issues.0.type": "source-error"}, id="no-value"
    ),
    pytest.param(
        "a.csv",
        lambda: ('nom;commentaire\nA;"ouvert sans fin\n' + "B;rien\n" * 5000).encode(),
        {},
        {"issues.0.type": "unclosed-quote", "issues.0.row": 2},
        id="unclosed-quote",
    ),
    pytest.param(
        "a.csv",
        lambda: b"a,b\n" + b"x" * (MAX_LINE_BYTES + 10) + b",1\n",
        {},
        {"issues.0.limit": "line-length"},
        id="line-length",
    ),
    pytest.param(
        "a.csv",
        lambda: (",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n").encode(),
        {},
        {"issues.0.limit": "columns"},
        id="columns",
    ),
    pytest.param(
        "a.csv",
        lambda: (
            'id;texte\n1;court\n2;"' + ("x" * (MAX_RECORD_BYTES // 2) + "\n") * 3 + '"\n'
        ).encode(),
        {},
        {"issues.0.limit": "row-size", "issues.0.row": 3, "source.dialect": PRESENT},
        id="row-size",
    ),
    pytest.param("a.xlsx", zip_bomb, {}, {"issues.0.limit": "zip-ratio"}, id="zip-ratio"),
    pytest.param(
        "a.xlsx",
        lambda: b"id,nom\n1,a\n",
        {},
        {"issues.0.limit": "archive"},
        id="not-a-workbook",
    ),
    pytest.param("a.xlsx", workbook, {}, {"source.format": "xlsx"}, id="workbook"),
    pytest.param(
        "a.ods",
        lambda: ods([["nom", "montant"], ["Roques", "12"]]),
        {},
        {"source.sheet": "Feuille1", "source.converted_from": "ods"},
        id="ods",
    ),
    pytest.param(
        "a.ods",
        lambda: ods([[" ", " "]]),
        {},
        {"issues.0.type": "source-error", "source.sheet": "Feuille1"},
        id="ods-without-a-value",
    ),
    pytest.param(
        "a.ods",
        lambda: zipped(mimetype="application/vnd.oasis.opendocument.spreadsheet"),
        {},
        {"issues.0.type": "format-error"},
        id="ods-broken",
    ),
    pytest.param(
        "a.json",
        lambda: b'[{"nom": "Roques", "montant": 12}]',
        {},
        {"source.converted_from": "json"},
        id="json",
    ),
    pytest.param(
        "a.json",
        lambda: b'{"nom": "Roques"}',
        {},
        {"issues.0.type": "format-error"},
        id="json-not-a-table",
    ),
    pytest.param(
        "a.json",
        lambda: b"[" * 100_000 + b"]" * 100_000,
        {},
        {"issues.0.limit": "json-depth"},
        id="json-too-deep",
    ),
    pytest.param(
        "a.json",
        lambda: b'[[""]]',
        {},
        {"issues.0.type": "source-error", "source.converted_from": "json"},
        id="json-without-a-value",
    ),
]


def at(report: dict[str, Any], path: str) -> Any:
    """The value at a dotted path (``issues.0.limit``)."""
    value: Any = report
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


@pytest.mark.parametrize(("name", "content", "options", "expected"), CASES)
async def test_each_kind_of_report(
    validator: Validator,
    name: str,
    content: Callable[[], bytes],
    options: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    report = await validator.stored(name, content(), **options)
    for path, value in expected.items():
        found = at(report, path)
        assert value is PRESENT or found == value, (path, found)
    conforms(report)


def test_a_key_the_types_do_not_know_is_refused() -> None:
    """The check itself: a key added to the report, at any depth, and not to the types fails."""
    report: dict[str, Any] = {
        "version": 1,
        "valid": True,
        "publishable": True,
        "schema": None,
        "source": {"format": "csv", "header": ["nom"], "fields": []},
        "summary": {
            "rows": 1,
            "errors": 0,
            "warnings": 0,
            "error_types": {},
            "warning_types": {},
            "truncated": False,
        },
        "message": {"fr": "Lisible.", "en": "Readable."},
        "issues": [],
        "seconds": 0.01,
        "upload_id": str(uuid.uuid4()),
        "file": {
            "object_key": "k",
            "sha256": "0" * 64,
            "size": 1,
            "filename": "a.csv",
            "media_type": "text/csv",
        },
    }
    conforms(report)
    for stray in (
        {**report, "new": 1},
        {**report, "source": {**report["source"], "new": 1}},
        {**report, "seconds": 1},
    ):
        with pytest.raises(AssertionError):
            conforms(stray)
