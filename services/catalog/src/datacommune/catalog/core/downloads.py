"""Serve a version's bytes exactly as stored, with a safe file name: whole, in part (Range), or
only its headers (HEAD, or 304 when the client has it already)."""

import posixpath
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from datacommune.catalog.core import ranges
from datacommune.catalog.tables import Version
from datacommune.shared.http import is_head
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
    charset: str | None = None

    @property
    def content_type(self) -> str:
        """The media type with the charset of the very bytes stored, when they are text."""
        if self.charset and "charset=" not in self.media_type.lower():
            return f"{self.media_type}; charset={self.charset}"
        return self.media_type


def published(version: Version) -> Stored:
    """The file a version publishes."""
    return Stored(
        version.object_key,
        version.sha256,
        version.size,
        version.filename,
        version.media_type,
        version.charset,
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
        version.original_charset,
    )


def response(
    stored: Stored, store: ObjectStore, fallback: str, request: Request, *, inline: bool = False
) -> Response:
    """Stream the stored object (or the part asked for), never holding it whole in memory.

    ``inline`` shows a text file in the browser instead of saving it: as ``text/plain`` in the
    charset of its bytes (a browser shows a Windows-1252 CSV with its accents right), in a
    sandbox that runs nothing. A file that is not text is always sent to be saved."""
    inline = inline and stored.charset is not None
    # Another representation of the same bytes, so another tag.
    etag = f'"{stored.sha256}-text"' if inline else f'"{stored.sha256}"'
    cache = {"ETag": etag, "Cache-Control": "public, max-age=31536000, immutable"}
    if ranges.not_modified(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=cache)
    part = ranges.part(
        request.headers.get("range"), request.headers.get("if-range"), etag, stored.size
    )
    disposition = content_disposition(safe_filename(stored.filename, fallback))
    headers = {
        **cache,
        "Content-Disposition": disposition.replace("attachment", "inline", 1)
        if inline
        else disposition,
        "Content-Length": str(part.length if part else stored.size),
        "Accept-Ranges": "bytes",
        "X-Content-SHA256": stored.sha256,
        "X-Content-Type-Options": "nosniff",
        # Set here, not as a media type: the framework would add « charset=utf-8 » to any text
        # type, a lie for a Windows-1252 file (and for one whose encoding is not known).
        "Content-Type": f"text/plain; charset={stored.charset}" if inline else stored.content_type,
    }
    if inline:
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    if part:
        headers["Content-Range"] = part.content_range
    status = 206 if part else 200
    if is_head(request):
        # The headers a GET would have, without opening the object.
        return Response(status_code=status, headers=headers)
    body = (
        store.stream(stored.object_key, start=part.start, length=part.length)
        if part
        else store.stream(stored.object_key)
    )
    return StreamingResponse(body, status, headers=headers)


def counted(request: Request, response: Response) -> bool:
    """Whether serving ``response`` counts as a download: a body from its first byte (a reader
    fetching a file in many ranges, or a HEAD, or a 304, is not many downloads)."""
    if is_head(request) or response.status_code not in (200, 206):
        return False
    return response.status_code == 200 or response.headers["Content-Range"].startswith("bytes 0-")
