"""The schemas validate knows: loaded from folders, addressed as ``name@version`` or ``name``.

Real schemas have defects that frictionless refuses outright (a ``name`` with spaces and
accents, ``required`` set beside ``constraints``); the registry mends what it safely can and keeps
a warning for each, instead of refusing the whole schema.
"""

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from datacommune.validate.checks import custom as custom_checks

NAME_PATTERN = re.compile(r"^([-a-z0-9._/])+$")
BUILTIN = Path(__file__).parent / "schemas"


def with_builtin(dirs: list[Path]) -> list[Path]:
    """The shipped schemas first, then the operator's folders (``SCHEMAS_DIRS`` adds to them,
    never replaces them); a schema in a later folder wins on the same id."""
    extra = [d for d in dirs if d.resolve() != BUILTIN.resolve()]
    return [BUILTIN, *extra]


def dirs_from_environment(value: str | None) -> list[Path]:
    """``SCHEMAS_DIRS`` as the services read it (a JSON list) or as a shell writes a path list
    (``/a:/b``), for the commands that check files without the services."""
    if not value:
        return []
    try:
        listed = json.loads(value)
    except ValueError:
        listed = value.split(os.pathsep)
    if isinstance(listed, str):
        listed = [listed]
    return [Path(item) for item in listed if str(item).strip()]


@dataclass(frozen=True)
class SchemaEntry:
    """One Table Schema, ready for frictionless."""

    name: str
    version: str
    title: str
    description: str
    descriptor: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    # The same, in French, for the reports a person reads.
    notes: list[str] = field(default_factory=list)
    # Declared checks that cannot run: every report against this schema names them.
    not_run: list[custom_checks.NotRun] = field(default_factory=list)
    # Where this version is published, as national catalogues match it (DCAT's conformsTo):
    # schema.data.gouv.fr's address when it lists the schema; None when unknown.
    url: str | None = None

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def required_fields(self) -> set[str]:
        """Names of the fields whose cells must be filled."""
        return {
            f["name"]
            for f in self.descriptor.get("fields", [])
            if f.get("constraints", {}).get("required")
        }

    def checks(self) -> list[Any]:
        """Fresh frictionless checks for the schema's declared ``custom_checks``."""
        return custom_checks.build(self.descriptor.get("custom_checks", []))[0]

    def fields(self) -> list[dict[str, Any]]:
        """Each field's documentation, as a person choosing a schema reads it."""
        return [
            {
                "name": f.get("name"),
                "title": f.get("title"),
                "type": f.get("type", "string"),
                "description": f.get("description"),
                "required": bool(f.get("constraints", {}).get("required")),
                "example": f.get("example"),
            }
            for f in self.descriptor.get("fields", [])
        ]


def load_entry(name: str, raw: dict[str, Any], url: str | None = None) -> SchemaEntry:
    """Mend a schema's known defects and note each in ``warnings``."""
    descriptor = json.loads(json.dumps(raw))
    warnings = []
    notes = []
    declared = descriptor.get("name")
    if declared is not None and not (isinstance(declared, str) and NAME_PATTERN.match(declared)):
        warnings.append(f"name {declared!r} is not a valid Table Schema name; ignored")
        notes.append(
            f"son nom « {declared} » n'est pas un nom de Table Schema valide : il est ignoré"
        )
        del descriptor["name"]
    for f in descriptor.get("fields", []):
        if "required" in f:
            warnings.append(f"field {f.get('name')!r}: 'required' moved into 'constraints'")
            notes.append(
                f"la colonne « {f.get('name')} » déclarait « required » hors de ses contraintes : "
                "la règle est appliquée telle quelle"
            )
            f.setdefault("constraints", {})["required"] = bool(f.pop("required"))
    # Columns are matched by name, as Validata and schema.data.gouv.fr do.
    descriptor.setdefault("fieldsMatch", "superset")
    _, not_run = custom_checks.build(descriptor.get("custom_checks", []))
    warnings.extend(check.warning for check in not_run)
    notes.extend(
        f"la vérification « {check.name} » n'est pas faite : {check.fr}" for check in not_run
    )
    return SchemaEntry(
        name=name,
        version=str(raw.get("version") or "0"),
        title=str(raw.get("title") or name),
        description=str(raw.get("description") or ""),
        descriptor=descriptor,
        warnings=warnings,
        notes=notes,
        not_run=not_run,
        url=url,
    )


def _version_key(version: str) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\-]", version))


class Registry:
    """Schemas by id; several versions of one schema may live side by side."""

    def __init__(self, entries: list[SchemaEntry]) -> None:
        self._by_id = {e.id: e for e in entries}

    @classmethod
    def from_dirs(cls, dirs: list[Path]) -> "Registry":
        """Every ``<name>/schema.json`` under each folder; ``addresses.json`` beside them says
        where each is published."""
        entries = []
        for root in dirs:
            listed = root / "addresses.json"
            addresses = json.loads(listed.read_text(encoding="utf-8")) if listed.is_file() else {}
            for path in sorted(root.glob("*/schema.json")):
                raw = json.loads(path.read_text(encoding="utf-8"))
                name = path.parent.name
                entries.append(load_entry(name, raw, addresses.get(name)))
        return cls(entries)

    @classmethod
    def from_catalogue(cls, catalogue: Path, mirror: Path | None = None) -> "Registry":
        """The Table Schemas of a catalogue in schema.data.gouv.fr's ``schemas.json`` format.

        Every version's ``schema_url`` is read from disk, never fetched: a relative path or
        ``file://`` URL beside the catalogue, or an ``https://`` URL looked up by its path under
        ``mirror`` (a copy an administrator made). A version not found is skipped.
        """
        data = json.loads(catalogue.read_text(encoding="utf-8"))
        entries = []
        for item in data.get("schemas", []):
            if item.get("schema_type") != "tableschema":
                continue
            name = str(item["name"]).strip("/").replace("/", "-")
            for version in item.get("versions") or [{"schema_url": item.get("schema_url")}]:
                path = _local(str(version.get("schema_url") or ""), catalogue.parent, mirror)
                if path is None or not path.is_file():
                    continue
                raw = json.loads(path.read_text(encoding="utf-8"))
                if version.get("version_name"):
                    # The catalogue names its versions; a file may say « v2.3.0 » for « 2.3.0 ».
                    raw = {**raw, "version": version["version_name"]}
                url = str(version.get("schema_url") or "")
                published = url if urlparse(url).scheme == "https" else None
                entries.append(load_entry(name, raw, published))
        return cls(entries)

    def merged(self, other: "Registry") -> "Registry":
        """Both registries' schemas; ``other`` wins on the same id."""
        return Registry([*self.all(), *other.all()])

    def all(self) -> list[SchemaEntry]:
        """Every schema, by id."""
        return [self._by_id[k] for k in sorted(self._by_id)]

    def get(self, ref: str) -> SchemaEntry | None:
        """``name@version`` exactly, or the newest version of ``name``."""
        if ref in self._by_id:
            return self._by_id[ref]
        versions = [e for e in self._by_id.values() if e.name == ref]
        if not versions:
            return None
        return max(versions, key=lambda e: _version_key(e.version))


def _local(url: str, base: Path, mirror: Path | None) -> Path | None:
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https"):
        return mirror / parsed.path.lstrip("/") if mirror else None
    if parsed.scheme == "file":
        return Path(parsed.path)
    if parsed.scheme == "" and url:
        return (base / url).resolve()
    return None
