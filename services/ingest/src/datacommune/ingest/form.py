"""Read a multipart upload as it streams in: the file goes to a staging file, hashed and counted.

FastAPI's ``UploadFile`` parses the whole body before the handler runs, so a 2 GB file would be
on disk before we could refuse it. Reading ``request.stream()`` ourselves lets ingest stop at the
first byte over the limit and delete what it staged.
"""

import hashlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from datacommune.ingest import problems
from datacommune.shared.process.scratch import held_file

# Staging files are named so; those a killed ingest left behind are swept when it starts again.
STAGING_PREFIX = "upload-"

# Text fields (dataset, schema, title) are short; anything longer is a mistake or an attack.
MAX_FIELD_BYTES = 4096
MAX_PARTS = 16


@dataclass
class StagedFile:
    """The file part of an upload, written to a staging file."""

    path: Path
    filename: bytes
    content_type: str
    size: int
    sha256: str
    # Open until the upload is settled: it holds the file against a sweep by another replica.
    held: BinaryIO | None = None


@dataclass
class Form:
    """What the multipart body carried."""

    fields: dict[str, str] = field(default_factory=dict)
    file: StagedFile | None = None

    def discard(self) -> None:
        """Delete the staging file, if any."""
        if self.file is not None:
            self.file.path.unlink(missing_ok=True)
            if self.file.held is not None:
                self.file.held.close()


class _Reader:
    """Callbacks for python-multipart's push parser."""

    def __init__(self, staging: Path, max_bytes: int) -> None:
        self.staging = staging
        self.max_bytes = max_bytes
        self.form = Form()
        self.parts = 0
        self._headers: dict[bytes, bytes] = {}
        self._field_name = b""
        self._header_value = b""
        self._name = ""
        self._filename: bytes | None = None
        self._buffer = bytearray()
        self._out: BinaryIO | None = None
        self._out_path: Path | None = None
        self._hash = hashlib.sha256()
        self._size = 0

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise problems.MalformedUpload.too_many_parts()
        self._headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field_name.lower()] = self._header_value
        self._field_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        self._filename = options.get(b"filename")
        self._buffer.clear()
        if self._filename is not None and self._name != "file":
            raise problems.MalformedUpload.file_in_wrong_field(self._name)
        if self._name == "file":
            if self.form.file is not None or self._out is not None:
                raise problems.MalformedUpload.two_files()
            self._out_path, self._out = held_file(self.staging, prefix=STAGING_PREFIX)
            self._hash = hashlib.sha256()
            self._size = 0

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._out is not None:
            self._size += len(chunk)
            if self._size > self.max_bytes:
                raise problems.UploadTooLarge.of(self.max_bytes)
            self._hash.update(chunk)
            self._out.write(chunk)
        else:
            self._buffer += chunk
            if len(self._buffer) > MAX_FIELD_BYTES:
                raise problems.MalformedUpload.field_too_long(self._name)

    def on_part_end(self) -> None:
        if self._out is not None:
            # No fsync: the staged copy is not the durable one; the object store's is.
            self._out.flush()
            content_type = self._headers.get(b"content-type", b"application/octet-stream")
            assert self._out_path is not None
            self.form.file = StagedFile(
                path=self._out_path,
                filename=self._filename or b"",
                content_type=content_type.decode("latin-1").strip(),
                size=self._size,
                sha256=self._hash.hexdigest(),
                held=self._out,
            )
            self._out = None
        elif self._name:
            try:
                self.form.fields[self._name] = bytes(self._buffer).decode("utf-8").strip()
            except UnicodeDecodeError as exc:
                raise problems.MalformedUpload.field_not_utf8(self._name) from exc

    @property
    def receiving(self) -> bool:
        """Whether a file part was begun and never finished (a truncated body)."""
        return self._out is not None

    def abort(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        if self._out_path is not None:
            self._out_path.unlink(missing_ok=True)
        self.form.discard()


async def receive(
    headers: Mapping[str, str], body: AsyncIterator[bytes], *, staging: Path, max_bytes: int
) -> Form:
    """An upload's form: refused from its declared size before a byte is read (a body without
    ``Content-Length`` is cut while streaming), then read as it streams in."""
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise problems.UploadTooLarge.of(max_bytes)
    return await read_form(
        headers.get("content-type", ""), body, staging=staging, max_bytes=max_bytes
    )


async def read_form(
    content_type: str, body: AsyncIterator[bytes], *, staging: Path, max_bytes: int
) -> Form:
    """Parse a ``multipart/form-data`` body; on any error nothing is left in ``staging``."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise problems.MalformedUpload.not_multipart()
    reader = _Reader(staging, max_bytes)
    try:
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": reader.on_part_begin,
                "on_part_data": reader.on_part_data,
                "on_part_end": reader.on_part_end,
                "on_header_field": reader.on_header_field,
                "on_header_value": reader.on_header_value,
                "on_header_end": reader.on_header_end,
                "on_headers_finished": reader.on_headers_finished,
            },
        )
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
        if reader.receiving:
            raise problems.MalformedUpload.unreadable()
    except problems.Problem:
        reader.abort()
        raise
    except Exception as exc:
        reader.abort()
        raise problems.MalformedUpload.unreadable() from exc
    except BaseException:
        # Cancelled (client gone, server stopping): leave nothing in staging.
        reader.abort()
        raise
    return reader.form
