"""The uploader's file name is metadata only: escaped for storage, never used as a path."""

import mimetypes
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
    """The media type, from the name's extension first (browsers often declare octet-stream)."""
    base = posixpath.basename(filename.replace("\\\\", "/"))
    ext = posixpath.splitext(base)[1].lower()
    if ext in MEDIA_TYPES:
        return MEDIA_TYPES[ext]
    guessed, _ = mimetypes.guess_type(base)
    if guessed:
        return guessed
    declared = declared.split(";")[0].strip().lower()
    return declared or "application/octet-stream"
