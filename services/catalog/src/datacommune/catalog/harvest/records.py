"""What a harvest reads of a remote dataset, in our words, whatever portal it came from.

A ``Remote`` is one remote dataset as the catalogue will show it (DCAT fields, licence mapped
to our ids where known, files as links); its ``digest`` says whether anything changed since the
last run. A ``Failure`` is a remote dataset that could not be taken, with a stable code and a
French and English message for the run log.
"""

import hashlib
import html
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx

from datacommune.catalog import search
from datacommune.catalog.core import metadata


@dataclass(frozen=True)
class RemoteFile:
    """A file of a remote dataset, left where its source serves it."""

    title: str
    url: str
    format: str | None = None
    media_type: str | None = None
    size: int | None = None


@dataclass
class Remote:
    """A remote dataset as the catalogue will show it."""

    remote_id: str
    # Its address (or identifier) at the source: the same from any source that lists it.
    identity: str
    # What its slug is made from, with the organization's.
    name: str
    title: str
    description: str = ""
    keywords: list[str] = field(default_factory=list)
    licence: str = "notspecified"
    theme: str | None = None
    spatial: list[str] = field(default_factory=list)
    temporal_start: date | None = None
    temporal_end: date | None = None
    modified: datetime | None = None
    landing_page: str | None = None
    files: list[RemoteFile] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Within our columns, whatever the source sends: no NUL (PostgreSQL refuses it), an
        # id of at most 300 characters, and an address too long to index kept as its hash.
        self.remote_id = self.remote_id.replace("\x00", "")[:300]
        self.title = self.title.replace("\x00", "")[:300]
        self.description = self.description.replace("\x00", "")
        self.keywords = [k.replace("\x00", "") for k in self.keywords]
        if len(self.identity) > 1000:
            self.identity = "sha256:" + hashlib.sha256(self.identity.encode()).hexdigest()

    def digest(self) -> str:
        """A hash of everything harvested: equal digests, nothing to change."""
        canonical = json.dumps(asdict(self), default=str, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Failure:
    """A remote dataset that could not be harvested, and why."""

    remote_id: str | None
    code: str
    detail: str
    detail_en: str

    def as_log(self) -> dict[str, Any]:
        return asdict(self)


class Malformed(ValueError):
    """A record that does not have the shape its API promises; the message says where."""

    def __init__(self, detail: str, detail_en: str) -> None:
        super().__init__(detail_en)
        self.detail = detail
        self.detail_en = detail_en


def malformed(remote_id: str | None, exc: Exception) -> Failure:
    """The log entry of a record that could not be read."""
    if isinstance(exc, Malformed):
        return Failure(remote_id, "malformed-record", exc.detail, exc.detail_en)
    why = f"{type(exc).__name__}: {exc}"[:300]
    return Failure(
        remote_id,
        "malformed-record",
        f"Cette fiche n'a pas la forme attendue de l'API ({why}) : corrigez-la sur le portail.",
        f"This record does not have the API's expected shape ({why}): fix it on the portal.",
    )


def missing_title(remote_id: str) -> Failure:
    return Failure(
        remote_id,
        "missing-title",
        "Ce jeu de données n'a pas de titre sur le portail : donnez-lui en un.",
        "This dataset has no title on the portal: give it one.",
    )


def text(value: Any, *, limit: int | None = None) -> str:
    """A string field; a list or object where text is expected is a malformed record."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Malformed(
            f"Un texte était attendu, la fiche donne {type(value).__name__}.",
            f"Text was expected, the record gives {type(value).__name__}.",
        )
    result = str(value).strip()
    return result[:limit] if limit else result


def html_text(value: Any) -> str:
    """An HTML description (OpenDataSoft's) as plain text."""
    raw = text(value)
    raw = re.sub(r"(?i)<br\s*/?>|</p>|</li>|</h\d>", "\n", raw)
    return re.sub(r"\n{3,}", "\n\n", html.unescape(re.sub(r"<[^>]+>", "", raw))).strip()


def keywords(values: Any) -> list[str]:
    """Keywords as we keep them: 1 to 100 characters, no repeats, at most 50."""
    if values is None:
        return []
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, list):
        raise Malformed("Les mots-clés ne sont pas une liste.", "Keywords are not a list.")
    found: list[str] = []
    for value in values:
        word = text(value, limit=100)
        if word and word not in found:
            found.append(word)
    return found[:50]


def _licence_key(value: str) -> str:
    value = value.lower().strip()
    value = re.sub(r"^https?://(www\.)?", "", value).rstrip("/")
    return re.sub(r"[^a-z0-9]", "", value)


_LICENCES = {
    _licence_key(alias): ours
    for ours, aliases in {
        "etalab-2.0": (
            "etalab-2.0",
            "lov2",
            "fr-lo-2.0",
            "Licence Ouverte v2.0",
            "Licence Ouverte / Open Licence version 2.0",
            "Licence Ouverte v2.0 (Etalab)",
            "Open Licence 2.0",
            "https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf",
        ),
        "odbl-1.0": (
            "odbl-1.0",
            "odc-odbl",
            "ODbL",
            "Open Database License (ODbL)",
            "https://opendatacommons.org/licenses/odbl/",
            "http://opendatacommons.org/licenses/odbl/1.0/",
        ),
        "cc-by-4.0": ("cc-by-4.0", "cc-by", "CC BY 4.0", "Creative Commons Attribution 4.0"),
        "cc0-1.0": ("cc0-1.0", "cc-zero", "CC0", "CC0 1.0", "Creative Commons Zero"),
    }.items()
    for alias in aliases
} | {_licence_key(uri): ours for ours, uri in metadata.LICENCE_URIS.items()}


def licence(*candidates: Any) -> str:
    """Our licence id for what the source says (an id, a title or a URI); the source's own
    words when we do not know the licence, ``notspecified`` when it says nothing."""
    given = [text(c) for c in candidates if c not in (None, "")]
    for value in given:
        ours = _LICENCES.get(_licence_key(value))
        if ours:
            return ours
    for value in given:
        if value and value.lower() not in ("notspecified", "other", "none"):
            return value[:64]
    return "notspecified"


def theme(*candidates: Any) -> str | None:
    """An EU data theme, from its code or its URI (other vocabularies are not mapped)."""
    for value in candidates:
        if not isinstance(value, str):
            continue
        code = value.rstrip("/").rsplit("/", 1)[-1].upper()
        if code in metadata.THEMES:
            return code
    return None


def insee_codes(values: list[str]) -> list[str]:
    """The INSEE commune codes among codes or URIs (``http://id.insee.fr/geo/commune/31458``)."""
    found = []
    for value in values:
        code = value.rstrip("/").rsplit("/", 1)[-1]
        if re.fullmatch(metadata.INSEE, code) and code not in found:
            found.append(code)
    return found


def moment(value: Any, name: str) -> datetime | None:
    """An ISO date or date-time, as an instant (UTC when the source gives no zone)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        raw = text(value)
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise Malformed(
                f"« {name} » n'est pas une date ISO 8601 : « {raw[:40]} ».",
                f"{name!r} is not an ISO 8601 date: {raw[:40]!r}.",
            ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def day(value: Any, name: str) -> date | None:
    instant = moment(value, name)
    return instant.date() if instant else None


_MEDIA_TYPES = {
    **search.FORMATS,
    "geojson": "application/geo+json",
    "pdf": "application/pdf",
    "zip": "application/zip",
    "xml": "application/xml",
    "xls": "application/vnd.ms-excel",
    "parquet": "application/vnd.apache.parquet",
    "shp": "application/x-shapefile",
}
_LABELS = {media_type: label for label, media_type in _MEDIA_TYPES.items()}


def file(
    title: Any, url: Any, fmt: Any = None, media_type: Any = None, size: Any = None
) -> RemoteFile | None:
    """A remote file as a link; None when its address is not a web (or FTP) address."""
    address = text(url)
    try:
        parsed = httpx.URL(address)
    except (httpx.InvalidURL, ValueError):
        return None
    if parsed.scheme not in ("http", "https", "ftp") or not parsed.host or len(str(parsed)) > 2000:
        return None
    kind = text(media_type).lower().split(";")[0].strip() or None
    # An EU file-type or IANA URI ends with the format or media type.
    if kind and kind.startswith("http"):
        kind = "/".join(kind.rstrip("/").split("/")[-2:])
    if kind and (len(kind) > 200 or not re.fullmatch(r"[\w.+-]+/[\w.+-]+", kind)):
        kind = None
    label = re.sub(r"[^a-z0-9]", "", text(fmt).lower().rstrip("/").rsplit("/", 1)[-1])[:16]
    if not label and kind:
        label = _LABELS.get(kind) or re.sub(r"[^a-z0-9]", "", kind.split("/")[-1])[:16]
    kind = kind or _MEDIA_TYPES.get(label)
    byte_size = int(size) if isinstance(size, int | str) and str(size).isdigit() else None
    name = text(title, limit=300) or parsed.path.rstrip("/").rsplit("/", 1)[-1] or address
    return RemoteFile(
        title=name[:300],
        url=str(parsed),
        format=label or None,
        media_type=kind,
        size=byte_size,
    )
