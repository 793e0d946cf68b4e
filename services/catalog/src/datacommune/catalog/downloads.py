"""Serve a version's bytes exactly as stored, with a safe file name."""

import posixpath
import re
import unicodedata
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


def response(version: Version, store: ObjectStore, fallback: str) -> StreamingResponse:
    """Stream the stored object, never holding it whole in memory."""
    name = safe_filename(version.filename, fallback)
    return StreamingResponse(
        store.stream(version.object_key),
        media_type=version.media_type,
        headers={
            "Content-Disposition": content_disposition(name),
            "Content-Length": str(version.size),
            "ETag": f'"{version.sha256}"',
            "X-Content-SHA256": version.sha256,
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
