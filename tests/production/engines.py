"""The engines a production test may stop: a PostgreSQL server of its own (Debian's ``initdb``
and ``pg_ctl``), an S3 server (``rclone serve s3``) restarted on the same port and folder, and
HAProxy (Debian's package) in front of the services' replicas, health-checking ``/readyz``."""

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from datacommune.cli.platform import postgres_program
from tests.servers import S3Server, free_port, rclone_s3, wait_port

HAPROXY_DEFAULTS = Path(__file__).resolve().parents[2] / "deploy" / "haproxy" / "haproxy.cfg"


def missing() -> str | None:
    """Why the production topology cannot run here, or None."""
    for name in ("initdb", "pg_ctl"):
        if postgres_program(name) is None:
            return f"PostgreSQL's {name} is not installed (Debian: postgresql)"
    if shutil.which("haproxy") is None:
        return "haproxy is not installed (Debian: haproxy)"
    return None


@dataclass
class PostgresServer:
    """A cluster in its own folder, on its own port; stopped and started by the test."""

    folder: Path
    port: int
    user: str | None  # whom the server runs as (PostgreSQL refuses to run as root)

    def _run(self, *argv: str) -> None:
        command = list(argv)
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c max_connections=300 -c fsync=off"
        )
        pg_ctl = postgres_program("pg_ctl") or "pg_ctl"
        self._run(pg_ctl, "-D", str(self.folder / "data"), "-o", options, "-w", "-t", "30",
                  "-l", str(self.folder / "server.log"), "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session (as a restart by an operator); ``immediate`` is a crash."""
        pg_ctl = postgres_program("pg_ctl") or "pg_ctl"
        self._run(pg_ctl, "-D", str(self.folder / "data"), "-m", mode, "-w", "stop")


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A fresh cluster (trust authentication, superuser ``postgres``), started."""
    folder = Path(tempfile.mkdtemp(prefix="dc-pg-"))
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(folder, free_port(), user)
    initdb = postgres_program("initdb") or "initdb"
    server._run(initdb, "-D", str(folder / "data"), "-U", "postgres", "-A", "trust",
                "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8")  # fmt: skip
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class RestartableS3:
    """``rclone serve s3`` whose process the test may kill and start again."""

    folder: Path
    port: int
    server: S3Server
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = self.server
        self.process = rclone_s3(self.folder, self.port, server.access_key, server.secret_key)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@contextlib.contextmanager
def s3_server() -> Iterator[RestartableS3]:
    folder = Path(tempfile.mkdtemp(prefix="dc-s3-"))
    port = free_port()
    s3 = RestartableS3(folder, port, S3Server(f"127.0.0.1:{port}", "datacommune", uuid.uuid4().hex))
    s3.start()
    try:
        yield s3
    finally:
        s3.kill()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class LoadBalancer:
    """HAProxy: one front port per service, each to that service's replicas."""

    folder: Path
    fronts: dict[str, int]
    backends: dict[str, list[int]]
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.folder / "haproxy.log"

    def config(self) -> str:
        """The ``listen`` sections; everything else is deploy/haproxy/haproxy.cfg's, as in
        production."""
        lines = []
        for service, port in self.fronts.items():
            lines += [f"listen {service}", f"    bind 127.0.0.1:{port}", "    balance roundrobin"]
            lines += [
                f"    server {service}-{n} 127.0.0.1:{backend} check"
                for n, backend in enumerate(self.backends[service], start=1)
            ]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        path = self.folder / "services.cfg"
        path.write_text(self.config())
        files = ["-f", str(HAPROXY_DEFAULTS), "-f", str(path)]
        subprocess.run(["haproxy", "-c", "-q", *files], check=True, timeout=30)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ["haproxy", "-db", *files], stdout=log, stderr=subprocess.STDOUT
            )
        for port in self.fronts.values():
            wait_port(port, self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
