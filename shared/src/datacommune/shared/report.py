"""The validation report (JSON, ``version`` 1): what validate stores beside each file, and what
ingest serves at ``GET /api/v1/uploads/{id}/report`` and inside ``GET /api/v1/uploads/{id}``.

validate builds the report as plain dicts (``validate/reports``), and leaves out what does not
apply rather than setting it to null: a file refused before it was read has no ``header``, a
finding of such a file no ``note``, a report without a repair proposal no ``repair``. So each
part is a ``TypedDict``, where a key that may be absent is ``NotRequired``: the JSON Schema then
says which keys are always there, and never offers null where the key is only ever missing.

Adding an optional key keeps the version, as for events: readers ignore the keys they do not
know, and reports stored by an older validate may lack keys added since (``summary.truncated``,
``source.encoding.lossless``), which is why ingest serves a report as it was stored.
``tests/validate/test_report_model.py`` checks every report the validator produces against
these types, unknown keys refused, so that they cannot drift from the code.
"""

from typing import Annotated, Literal, NotRequired

from pydantic import Field

# pydantic reads TypedDicts from typing_extensions only, before Python 3.12.
from typing_extensions import TypedDict


class Message(TypedDict):
    """One sentence for a person, in French and in English."""

    fr: str
    en: str


class ReportSchema(TypedDict):
    """The schema the file was checked against, with what the registry mended in it."""

    id: Annotated[str, Field(examples=["scdl-subventions@2.1.1"])]
    title: str
    warnings: list[str]
    notes: NotRequired[
        Annotated[list[str], Field(description="The same warnings in French, for a person")]
    ]


class Encoding(TypedDict):
    """The encoding the file was read with, how sure, and why."""

    name: Annotated[str, Field(examples=["cp1252"])]
    bom: str | None
    confidence: Annotated[float, Field(ge=0, le=1)]
    reason: str
    errors: Annotated[str, Field(description="Python's decoding error handler")]
    lossless: Annotated[
        bool | None,
        Field(description="Whether the text, encoded back, gives the very bytes of the file"),
    ]


class Dialect(TypedDict):
    """How rows and cells are separated, how sure, and why."""

    delimiter: str
    confidence: Annotated[float, Field(ge=0, le=1)]
    line_endings: Annotated[str, Field(examples=["crlf", "lf", "cr", "mixte", "aucune"])]
    reason: str
    columns: int


class Column(TypedDict):
    """A column with the type it was checked against: the schema's, else inferred."""

    name: str
    type: str
    format: str


class Coordinates(TypedDict):
    """CSV: where the table keeps its coordinates (WGS 84), as catalog maps and exports them:
    a latitude and a longitude column, a point column, or a column of geometries."""

    latitude: str | None
    longitude: str | None
    point: str | None
    point_format: Annotated[str, Field(examples=["default", "array", "object", "latlon"])]
    geometry: str | None
    geometry_format: Literal["geojson", "wkt"]
    found: Annotated[
        Literal["schema", "type", "name", "values"],
        Field(description="From the schema's check, a field type, the names, or the values"),
    ]


class Source(TypedDict):
    """How the file was read; a file refused before it was read as a table has no ``header``."""

    format: NotRequired[str]
    encoding: NotRequired[Encoding]
    dialect: NotRequired[Dialect]
    sheet: NotRequired[Annotated[str, Field(description="ODS: the sheet read (the first)")]]
    converted_from: NotRequired[Literal["ods", "json"]]
    header: NotRequired[list[str]]
    fields: NotRequired[list[Column]]
    coordinates: NotRequired[Coordinates]


class Unchecked(TypedDict):
    """A check the schema declares that could not run (unknown here, or its parameters wrong):
    while one is listed, the file is never ``valid``."""

    check: Annotated[str, Field(examples=["french_gps_coordinates"])]
    message: Message


class Summary(TypedDict):
    """Exact counts, by kind of finding (lower bounds when ``truncated``)."""

    rows: int
    errors: int
    warnings: int
    error_types: dict[str, int]
    warning_types: dict[str, int]
    truncated: bool


class Issue(TypedDict):
    """One finding: the first 100 of each kind are kept."""

    type: Annotated[str, Field(examples=["type-error"])]
    message: str
    row: Annotated[int | None, Field(description="As in a spreadsheet: the header is row 1")]
    field: str | None
    cell: Annotated[str | None, Field(description="The value, shortened past 300 characters")]
    note: NotRequired[str | None]
    severity: Literal["error", "warning"]
    title: str
    message_fr: str
    hint: str | None
    limit: NotRequired[Annotated[str, Field(examples=["row-size", "zip-ratio"])]]


class GroupExample(TypedDict):
    """One finding of a group, as a table row of the report page shows it."""

    row: int | None
    field: str | None
    cell: str | None
    message_fr: str
    message: str


class Group(TypedDict):
    """The findings of one kind on one column (or on the header), as a person reads them: the
    exact count, the rows, each piece of advice once, and the first 20 examples."""

    severity: Literal["error", "warning"]
    type: Annotated[str, Field(examples=["constraint-error"])]
    rule: Annotated[
        str | None,
        Field(
            description="The constraint broken or the type expected",
            examples=["required", "number"],
        ),
    ]
    field: Annotated[str | None, Field(description="None for the header's or a row's findings")]
    header: Annotated[bool, Field(description="Findings about the header, not about cells")]
    title: Annotated[str, Field(examples=["Cellule obligatoire vide"])]
    count: int
    count_fr: Annotated[str, Field(examples=["396 cellules"])]
    rows: Annotated[
        list[list[int]], Field(description="Runs of row numbers, [first, last], at most 12")
    ]
    rows_fr: Annotated[str, Field(examples=["lignes 2 à 49, 51 et 60"])]
    hints: Annotated[list[str], Field(description="What to do, each distinct advice once")]
    said_fr: Annotated[
        str | None, Field(description="The sentence every example says, when they all say one")
    ]
    detail: Annotated[
        bool, Field(description="Whether each example's own sentence is worth showing")
    ]
    examples: list[GroupExample]


class MappingProposal(TypedDict):
    """A column of the file, and the field of the schema it probably is."""

    column: str
    field: str
    reason: str
    score: Annotated[float, Field(ge=0, le=1)]


class Mapping(TypedDict):
    """The column mapping proposed (headers that are not the schema's) or applied."""

    proposed: NotRequired[list[MappingProposal]]
    applied: NotRequired[dict[str, str]]


class SchemaGuess(TypedDict):
    """Without a schema: one that fits the header."""

    id: str
    title: str
    score: Annotated[float, Field(ge=0, le=1)]
    matched: int


class Change(TypedDict):
    """One cell changed, or one row or column removed, by a safe repair."""

    kind: str
    row: int | None
    column: Annotated[int | None, Field(description="Its position in the original, from 1")]
    field: str | None
    before: str | None
    after: str | None


class Rechecked(TypedDict):
    """How a proposed repair's outcome was found: from the changed rows checked again alone
    (``changed-rows``, ``rows`` of them) or by checking the whole repaired file (``whole-file``,
    and why)."""

    how: Literal["changed-rows", "whole-file"]
    rows: NotRequired[int]
    reason: NotRequired[str]


class Outcome(TypedDict):
    """The summary of the file on the other side of a repair."""

    summary: Summary
    message: Message
    checked: NotRequired[Annotated[Rechecked, Field(description="``after`` only")]]
    encoding: NotRequired[
        Annotated[Encoding, Field(description="How the original was read (``before`` only)")]
    ]


class Repair(TypedDict):
    """The safe repairs: proposed (``after``: what they would leave), or applied (``before``:
    the original's summary)."""

    file: Annotated[list[str], Field(description="Changes to the whole file (encoding, BOM…)")]
    counts: dict[str, int]
    kinds: dict[str, str]
    changes: Annotated[list[Change], Field(description="The first 1,000")]
    changes_total: int
    applied: bool
    after: NotRequired[Outcome]
    before: NotRequired[Outcome]


class StoredFile(TypedDict):
    """A file as stored: the one checked, or the original beside a repaired one."""

    object_key: str
    sha256: str
    size: int
    filename: str
    media_type: str
    # Absent from reports written before it was recorded.
    charset: NotRequired[
        Annotated[
            str | None,
            Field(description="The encoding its bytes were read in (IANA name); None if not text"),
        ]
    ]


class Engine(TypedDict):
    """Which engine checked the file's rows, and why not the columnar one when it did not."""

    name: Literal["columnar", "frictionless"]
    reason: NotRequired[str]


class Report(TypedDict):
    """A validation result: an invalid file gets a report like a valid one."""

    version: Literal[1]
    valid: bool
    publishable: Annotated[bool, Field(description="No error: the file may be published")]
    schema: ReportSchema | None
    source: Source
    summary: Summary
    message: Message
    issues: list[Issue]
    groups: NotRequired[
        Annotated[list[Group], Field(description="The findings grouped by kind and column")]
    ]
    seconds: float
    engine: NotRequired[
        Annotated[Engine, Field(description="The engine that read the rows (absent if refused)")]
    ]
    unchecked: NotRequired[list[Unchecked]]
    mapping: NotRequired[Mapping]
    schema_guess: NotRequired[list[SchemaGuess]]
    repair: NotRequired[Repair]
    upload_id: str
    file: StoredFile
    original: NotRequired[
        Annotated[StoredFile, Field(description="The file as sent, when a repaired one is kept")]
    ]
