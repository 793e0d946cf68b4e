"""Serve a version's bytes exactly as stored, with a safe file name."""

import posixpath
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from fastapi.responses import StreamingResponse

from datacommune.catalog.tables import Version
from datacommune.shared.storage import ObjectStore


def safe_filename(escaped: str, fallback: str) -> str:
    """The last segment of the uploader's name, with anything odd replaced by ``_``."""
    base = posixpath.basename(escaped.replace("\\", "/"))
    base = re.sub(r"[^\w.\- ()]+", "_", base).strip(" ._")
    return base[:150] or fallback


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII ``filename`` for old clients, the UTF-8 one in ``filename*``."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = ascii_name.replace('"', "").replace("\\", "") or "fichier"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@dataclass(frozen=True)
class Stored:
    """A stored file as it is served."""

    object_key: str
    sha256: str
    size: int
    filename: str
    media_type: str


def published(version: Version) -> Stored:
    """The file a version publishes."""
    return Stored(
        version.object_key, version.sha256, version.size, version.filename, version.media_type
    )


def original(version: Version) -> Stored | None:
    """The file as uploaded, when the version publishes its safe repair."""
    if not version.original_object_key:
        return None
    return Stored(
        version.original_object_key,
        version.original_sha256 or "",
        version.original_size or 0,
        version.original_filename or "original",
        version.original_media_type or "application/octet-stream",
    )


def response(stored: Stored, store: ObjectStore, fallback: str) -> StreamingResponse:
    """Stream the stored object, never holding it whole in memory."""
    name = safe_filename(stored.filename, fallback)
    return StreamingResponse(
        store.stream(stored.object_key),
        media_type=stored.media_type,
        headers={
            "Content-Disposition": content_disposition(name),
            "Content-Length": str(stored.size),
            "ETag": f'"{stored.sha256}"',
            "X-Content-SHA256": stored.sha256,
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
