"""One ``ObjectStore`` interface, two real backends: a local folder and any S3 server.

Keys are always made by the server (content hashes or ids), never taken from a filename. Objects
are written once and never changed, so no backend relies on versioning, and none sends tags
(some S3 servers mangle tagged objects).
"""

import asyncio
import errno
import io
import os
import re
import shutil
import tempfile
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import BinaryIO, Protocol

import certifi
import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error

from datacommune.shared.process import scratch
from datacommune.shared.settings import StorageSettings

CHUNK = 256 * 1024
# Half-written objects of the local store, in its .tmp folder.
SCRATCH_PREFIX = "writing-"
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class ObjectMissing(Exception):
    """No object is stored under that key."""


def _is_missing(exc: Exception) -> bool:
    # Some S3 servers send their XML errors as text/xml, which the SDK does not parse.
    if isinstance(exc, S3Error):
        return exc.code in {"NoSuchKey", "NoSuchObject", "NotFound"}
    return isinstance(exc, InvalidResponseError) and exc._code == 404


def content_key(sha256: str) -> str:
    """Where bytes are kept, by their content: the same bytes (an upload, or the repair of one)
    are stored once, under one key, and never overwritten."""
    return f"files/sha256/{sha256[:2]}/{sha256}"


def check_key(key: str) -> str:
    """Refuse any key that could climb out of its folder or is not one we make."""
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid object key: {key!r}")
    return key


class ObjectStore(Protocol):
    """Where files and reports live."""

    async def put_file(self, key: str, path: Path, *, media_type: str) -> None:
        """Store the file at ``path`` under ``key`` (the file is left in place)."""

    async def move_file(self, key: str, path: Path, *, media_type: str) -> None:
        """Store the file at ``path`` under ``key``, consuming it: moved, not copied, where
        the store and the file share a disk (tens of megabytes not written twice)."""

    async def put_bytes(self, key: str, data: bytes, *, media_type: str) -> None:
        """Store a small object, such as a report."""

    async def get_bytes(self, key: str) -> bytes:
        """Read a small object whole."""

    def stream(
        self, key: str, *, start: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        """Read an object in chunks, never whole in memory; ``length`` bytes from ``start``
        (to the end when None)."""

    async def download(self, key: str, path: Path) -> None:
        """Copy an object to a local file."""

    async def size(self, key: str) -> int:
        """The size of an object; raises ``ObjectMissing``."""

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    async def delete(self, key: str) -> None:
        """Remove an object if it is there."""

    async def ping(self) -> None:
        """Raise if the store cannot be reached."""


def _next(left: int) -> int:
    """How much to read next: a chunk, or what is left of a part (``-1``: to the end)."""
    return CHUNK if left < 0 else min(CHUNK, left)


def fsync_path(path: Path) -> None:
    """fsync a file or a folder by its name: a folder's, so that a rename into it survives a
    crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalObjectStore:
    """Objects as files under a root folder; each write is atomic and fsynced."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(exist_ok=True)
        # Writes a killed process left half-done; those of live processes sharing the root
        # (every service of an embedded platform) are held, and stay.
        scratch.sweep(self._tmp, prefix=SCRATCH_PREFIX)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _write(self, key: str, copy: Callable[[BinaryIO], object]) -> None:
        target = self._path(key)
        self._make_dirs(target.parent)
        fd, tmp = tempfile.mkstemp(dir=self._tmp, prefix=SCRATCH_PREFIX)
        try:
            scratch.hold(fd)
            with os.fdopen(fd, "wb") as out:
                copy(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_path(target.parent)

    def _make_dirs(self, folder: Path) -> None:
        # Each new folder is fsynced in its parent, so a file answered with 2xx survives an OS
        # crash, not only a process crash.
        if folder.is_dir():
            return
        self._make_dirs(folder.parent)
        folder.mkdir(exist_ok=True)
        fsync_path(folder.parent)

    async def put_file(self, key: str, path: Path, *, media_type: str) -> None:
        def copy(out: BinaryIO) -> None:
            with path.open("rb") as src:
                shutil.copyfileobj(src, out, CHUNK)

        await asyncio.to_thread(self._write, key, copy)

    async def move_file(self, key: str, path: Path, *, media_type: str) -> None:
        def move() -> None:
            target = self._path(key)
            self._make_dirs(target.parent)
            fsync_path(path)
            os.replace(path, target)
            fsync_path(target.parent)

        try:
            await asyncio.to_thread(move)
        except OSError as exc:
            if exc.errno != errno.EXDEV:  # not the same file system: copied then
                raise
            await self.put_file(key, path, media_type=media_type)
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def put_bytes(self, key: str, data: bytes, *, media_type: str) -> None:
        await asyncio.to_thread(self._write, key, lambda out: out.write(data))

    async def get_bytes(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc

    async def stream(
        self, key: str, *, start: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        try:
            handle = await asyncio.to_thread(self._path(key).open, "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        try:
            if start:
                handle.seek(start)
            left = -1 if length is None else length
            while left and (chunk := await asyncio.to_thread(handle.read, _next(left))):
                left -= len(chunk) if left > 0 else 0
                yield chunk
        finally:
            handle.close()

    async def download(self, key: str, path: Path) -> None:
        try:
            await asyncio.to_thread(shutil.copyfile, self._path(key), path)
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc

    async def size(self, key: str) -> int:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def ping(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise OSError(f"{self.root} is not writable")


class S3ObjectStore:
    """Objects in one bucket of an S3 server, through the minio SDK (which is synchronous)."""

    def __init__(self, client: Minio, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    async def ensure_bucket(self) -> None:
        """Create the bucket on first use."""
        if await asyncio.to_thread(self.client.bucket_exists, self.bucket):
            return
        try:
            await asyncio.to_thread(self.client.make_bucket, self.bucket)
        except (S3Error, InvalidResponseError):
            # Services starting together race to create it: one wins, the others find it there.
            if not await asyncio.to_thread(self.client.bucket_exists, self.bucket):
                raise

    async def put_file(self, key: str, path: Path, *, media_type: str) -> None:
        await asyncio.to_thread(
            self.client.fput_object, self.bucket, check_key(key), str(path), content_type=media_type
        )

    async def move_file(self, key: str, path: Path, *, media_type: str) -> None:
        await self.put_file(key, path, media_type=media_type)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def put_bytes(self, key: str, data: bytes, *, media_type: str) -> None:
        await asyncio.to_thread(
            self.client.put_object,
            self.bucket,
            check_key(key),
            io.BytesIO(data),
            len(data),
            content_type=media_type,
        )

    async def get_bytes(self, key: str) -> bytes:
        chunks = [chunk async for chunk in self.stream(key)]
        return b"".join(chunks)

    async def stream(
        self, key: str, *, start: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        try:
            # minio reads a length of 0 as « to the end ».
            response = await asyncio.to_thread(
                self.client.get_object,
                self.bucket,
                check_key(key),
                offset=start,
                length=length or 0,
            )
        except (S3Error, InvalidResponseError) as exc:
            if _is_missing(exc):
                raise ObjectMissing(key) from exc
            raise
        try:
            while chunk := await asyncio.to_thread(response.read, CHUNK):
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def download(self, key: str, path: Path) -> None:
        with path.open("wb") as out:
            async for chunk in self.stream(key):
                await asyncio.to_thread(out.write, chunk)

    async def size(self, key: str) -> int:
        try:
            info = await asyncio.to_thread(self.client.stat_object, self.bucket, check_key(key))
        except (S3Error, InvalidResponseError) as exc:
            if _is_missing(exc):
                raise ObjectMissing(key) from exc
            raise
        return int(info.size or 0)

    async def exists(self, key: str) -> bool:
        try:
            await self.size(key)
        except ObjectMissing:
            return False
        return True

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.remove_object, self.bucket, check_key(key))

    async def ping(self) -> None:
        if not await asyncio.to_thread(self.client.bucket_exists, self.bucket):
            raise OSError(f"bucket {self.bucket} does not exist")


async def open_store(settings: StorageSettings) -> ObjectStore:
    """The backend the settings name, ready to use."""
    if settings.backend == "local":
        return await asyncio.to_thread(LocalObjectStore, settings.root)
    client = Minio(
        settings.endpoint,
        access_key=settings.access_key,
        secret_key=settings.secret_key,
        secure=settings.secure,
        region=settings.region,
        http_client=_http_pool(settings),
    )
    store = S3ObjectStore(client, settings.bucket)
    await store.ensure_bucket()
    return store


def _http_pool(settings: StorageSettings) -> urllib3.PoolManager:
    """minio's connection pool, with timeouts a reader can wait out: two quick retries (a
    server restarting), then the error, which the service answers as a 503."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout),
        # More than minio's 10: every thread of the pool may hold a download.
        maxsize=32,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )
