"""The uploader's file name is metadata only: escaped for storage, never used as a path."""

import posixpath

MAX_LENGTH = 255

MEDIA_TYPES = {
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".txt": "text/plain",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xls": "application/vnd.ms-excel",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".zip": "application/zip",
    ".pdf": "application/pdf",
}

KNOWN = frozenset(MEDIA_TYPES.values())


def escape(raw: bytes) -> str:
    """The name as sent, decoded, with control characters and backslashes written as escapes.

    ``../../etc/passwd`` stays readable as what was sent, and a NUL becomes the four
    characters ``\\x00``; nothing here is ever joined to a path.
    """
    text = raw.decode("utf-8", "backslashreplace")
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)[:MAX_LENGTH] or "fichier"


def media_type(filename: str, declared: str) -> str:
    """The media type from the name's extension, else a known declared one, else octet-stream.

    Only types from this list are ever stored: a client-chosen type would be served back to
    every reuser (``text/html``) or could even be unservable as a header.
    """
    base = posixpath.basename(filename.replace("\\", "/"))
    ext = posixpath.splitext(base)[1].lower()
    if ext in MEDIA_TYPES:
        return MEDIA_TYPES[ext]
    declared = declared.split(";")[0].strip().lower()
    if declared in KNOWN:
        return declared
    return "application/octet-stream"
