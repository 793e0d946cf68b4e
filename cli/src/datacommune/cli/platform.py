"""Start and stop the whole platform as real processes: nats-server, then the four services.

``datacommune up`` runs it on embedded defaults; the end-to-end tests run it on the same code
with PostgreSQL and an S3 server swapped in by environment variables only.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

SERVICES = ("ingest", "validate", "catalog", "events")
DEFAULT_PORTS = {"ingest": 8081, "validate": 8082, "catalog": 8083, "events": 8084, "nats": 4223}


# Settings each service must have its own value of: the launcher sets them, and a value exported
# for all services at once is refused by ``environment_problems``.
PER_SERVICE = ("HTTP__PORT", "HTTP__PUBLIC_URL")


def own_settings(environ: Mapping[str, str], service: str) -> dict[str, str]:
    """``DATACOMMUNE_<SERVICE>__<SETTING>`` variables, as that service's ``<SETTING>``."""
    prefix = f"DATACOMMUNE_{service.upper()}__"
    return {k[len(prefix) :]: v for k, v in environ.items() if k.startswith(prefix) and k != prefix}


def environment_problems(environ: Mapping[str, str]) -> list[str]:
    """Exported settings the launcher cannot honour as they are, each said with what to do."""
    problems = []
    for key in PER_SERVICE:
        if key in environ:
            problems.append(
                f"{key} vaut pour les quatre services à la fois : utilisez "
                f"DATACOMMUNE_<SERVICE>_PORT ou DATACOMMUNE_<SERVICE>__{key}. / {key} would "
                f"apply to all four services: use DATACOMMUNE_<SERVICE>_PORT or "
                f"DATACOMMUNE_<SERVICE>__{key}."
            )
    database = environ.get("DATABASE__URL")
    own = all(f"DATACOMMUNE_{s.upper()}__DATABASE__URL" in environ for s in SERVICES)
    if database and "{service}" not in database and not own:
        problems.append(
            "DATABASE__URL désignerait une seule base pour les quatre services, qui ont chacun "
            "la leur : mettez {service} dans son nom (postgresql+asyncpg://…/dc_{service}) ou "
            "donnez DATACOMMUNE_<SERVICE>__DATABASE__URL à chacun. / DATABASE__URL would give "
            "the four services one database, and each has its own: put {service} in it "
            "(postgresql+asyncpg://…/dc_{service}) or set DATACOMMUNE_<SERVICE>__DATABASE__URL "
            "for each."
        )
    return problems


def create_missing_databases(urls: list[str]) -> list[str]:
    """Create the PostgreSQL databases among ``urls`` that do not exist yet, through the
    server's ``postgres`` database with the same credentials; return what was created.

    A person trying the launcher on PostgreSQL then needs only a server, as with SQLite only a
    folder. Where the role may not create databases, the error names the database."""
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    created: list[str] = []

    async def ensure(url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql" or not parsed.database:
            return
        maintenance = parsed.set(drivername="postgresql", database="postgres")
        conn = await asyncpg.connect(maintenance.render_as_string(hide_password=False))
        try:
            if not await conn.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
            ):
                name = parsed.database.replace('"', '""')
                await conn.execute(f'CREATE DATABASE "{name}"')
                created.append(parsed.database)
        finally:
            await conn.close()

    async def all_of_them() -> None:
        for url in dict.fromkeys(urls):
            await ensure(url)

    asyncio.run(all_of_them())
    return created


def binary(name: str) -> str:
    """A program installed in this virtual environment (nats-server, rclone), else on PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed; run `make install`")
    return found


def postgres_program(name: str) -> str | None:
    """A PostgreSQL program (pg_dump, pg_ctl…): the newest of those Debian keeps out of PATH,
    else the one on PATH, else None."""
    import glob

    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _die_with_parent() -> None:
    # On Linux, a child gets SIGTERM if the launcher itself is killed, so no server is orphaned.
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


@dataclass
class Platform:
    """The processes of one platform and the settings each gets."""

    var: Path
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    # An external NATS (cluster) URL; None starts the embedded nats-server.
    nats_url: str | None = None
    # Per-service database URL; missing ones get a SQLite file under ``var``.
    databases: dict[str, str] = field(default_factory=dict)
    # Shared by every service: STORAGE__BACKEND=s3, STORAGE__ENDPOINT=…, and any other setting.
    env: dict[str, str] = field(default_factory=dict)
    per_service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    quiet: bool = False
    # The embedded server as a federation hub (a port for nodes' leaf links, JetStream domain
    # "hub") or as a node's leaf server (``leaf_remote``, domain "node-<name>").
    leaf_port: int | None = None
    leaf_remote: str | None = None
    node_name: str | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Which service each replica runs ("events-2" -> "events"), for ``wait_ready``.
    replicas: dict[str, str] = field(default_factory=dict)

    def url(self, service: str) -> str:
        """The base URL of a service."""
        return f"http://{self.host}:{self.ports[service]}"

    @property
    def nats(self) -> str:
        return self.nats_url or f"nats://{self.host}:{self.ports['nats']}"

    def _log(self, name: str) -> int | None:
        if not self.quiet:
            return None
        logs = self.var / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        return os.open(logs / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        out = self._log(name)
        try:
            self.processes[name] = subprocess.Popen(
                argv,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                stdin=subprocess.DEVNULL,
                # Own session: a terminal's Ctrl-C reaches only the launcher, which then stops
                # the services before the server they depend on.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            if out is not None:
                os.close(out)

    def start_nats(self) -> None:
        """The embedded JetStream server, its store under ``var/nats``."""
        if self.nats_url:
            return
        store = self.var / "nats"
        store.mkdir(parents=True, exist_ok=True)
        if self.leaf_port or self.leaf_remote:
            config = self.var / "nats.conf"
            config.write_text(self.nats_config(store))
            self._spawn("nats", [binary("nats-server"), "-c", str(config)], os.environ)
        else:
            self._spawn(
                "nats",
                [
                    binary("nats-server"),
                    "--jetstream",
                    "--store_dir",
                    str(store),
                    "--addr",
                    self.host,
                    "--port",
                    str(self.ports["nats"]),
                    "--server_name",
                    "datacommune-embedded",
                ],
                os.environ,
            )
        _wait_port(self.host, self.ports["nats"], timeout=20, process=self.processes["nats"])

    def nats_config(self, store: Path) -> str:
        """The server's configuration as a hub (leaf port) or as a node's leaf server."""
        if self.leaf_remote:
            name = f"node-{self.node_name}"
            urls = ", ".join(f'"{url.strip()}"' for url in self.leaf_remote.split(","))
            # A fixed server_name and store: a restarted node finds its streams again.
            return (
                f'server_name: "{name}"\nlisten: "{self.host}:{self.ports["nats"]}"\n'
                f'jetstream {{ domain: "{name}", store_dir: "{store}" }}\n'
                # A hub run as a cluster is given as every server's leaf URL, comma-separated:
                # the link then moves to another server when one stops.
                f"leafnodes {{ remotes: [ {{ urls: [{urls}] }} ] }}\n"
            )
        return (
            f'server_name: "hub"\nlisten: "{self.host}:{self.ports["nats"]}"\n'
            f'jetstream {{ domain: "hub", store_dir: "{store}" }}\n'
            # Nodes must dial the address they were given (a load balancer in production),
            # not one the hub advertises.
            f'leafnodes {{ listen: "0.0.0.0:{self.leaf_port}", no_advertise: true }}\n'
        )

    def service_env(self, name: str) -> dict[str, str]:
        """The environment one service process is started with.

        From weakest to strongest: the embedded defaults; what the operator exported (a
        ``DATABASE__URL`` holding ``{service}`` gives each service its own database); what the
        caller passed (``databases``, ``env``); ``DATACOMMUNE_<SERVICE>__<SETTING>`` exported
        for that service alone; and the caller's ``per_service_env``.
        """
        exported = dict(os.environ)
        env = dict(exported)
        defaults = {
            "HTTP__HOST": self.host,
            "HTTP__PORT": str(self.ports[name]),
            "HTTP__PUBLIC_URL": self.url(name),
            "NATS__URL": self.nats,
            "NATS__CONNECT_TIMEOUT": "30",
            "DATABASE__URL": f"sqlite+aiosqlite:///{self.var / f'{name}.db'}",
            "STORAGE__ROOT": str(self.var / "files"),
            "STAGING_DIR": str(self.var / "staging"),
            "WORK_DIR": str(self.var / "work"),
            "PYTHONUNBUFFERED": "1",
        }
        if "validate" in self.ports:
            defaults["VALIDATE_PUBLIC_URL"] = self.url("validate")
        for service in SERVICES:
            if service in self.ports:
                defaults[f"SITE__{service.upper()}_URL"] = self.url(service)
        for key, value in defaults.items():
            # The ports and addresses are the launcher's to give: one per service.
            if key in PER_SERVICE or key not in exported:
                env[key] = value
        if "{service}" in exported.get("DATABASE__URL", ""):
            env["DATABASE__URL"] = exported["DATABASE__URL"].replace("{service}", name)
        if name in self.databases:
            env["DATABASE__URL"] = self.databases[name]
        if self.nats_url:
            env["NATS__URL"] = self.nats_url
        env.update(self.env)
        env.update(own_settings(exported, name))
        env.update(self.per_service_env.get(name, {}))
        return env

    def start_service(self, name: str) -> None:
        """One service as its own process (``python -m datacommune.<name>``)."""
        self._spawn(name, [sys.executable, "-m", f"datacommune.{name}"], self.service_env(name))

    def start_replica(self, name: str, replica: str, port: int, *, behind: bool = False) -> None:
        """Another process of service ``name`` on its own port, sharing its database and its
        consumers (production runs several; tests use it). ``behind`` a load balancer at
        ``url(name)``, it gives that address as its public one, as every replica must."""
        self.ports[replica] = port
        self.replicas[replica] = name
        env = self.service_env(name)
        env.update(HTTP__PORT=str(port))
        if not behind:
            env.update(HTTP__PUBLIC_URL=self.url(replica))
        self._spawn(replica, [sys.executable, "-m", f"datacommune.{name}"], env)

    def start(self, *, timeout: float = 60) -> None:
        """Start everything and wait until each service says it is ready."""
        self.var.mkdir(parents=True, exist_ok=True)
        taken = self.taken_ports()
        if taken:
            raise RuntimeError(
                "; ".join(
                    f"le port {port} ({name}) est déjà pris par un autre programme : arrêtez-le "
                    f"ou choisissez un autre port avec DATACOMMUNE_{name.upper()}_PORT / port "
                    f"{port} ({name}) is taken by another program: stop it or choose another "
                    f"port with DATACOMMUNE_{name.upper()}_PORT"
                    for name, port in taken
                )
            )
        self.start_nats()
        for name in SERVICES:
            self.start_service(name)
        for name in SERVICES:
            self.wait_ready(name, timeout=timeout)

    def taken_ports(self) -> list[tuple[str, int]]:
        """The ports this platform would listen on that something else already holds.

        Checked before anything starts: a service that cannot bind its port exits only after
        its start-up, and meanwhile whatever holds the port would answer in its place."""
        wanted = {name: self.ports[name] for name in SERVICES}
        if not self.nats_url:
            wanted["nats"] = self.ports["nats"]
            if self.leaf_port:
                wanted["nats-leaf"] = self.leaf_port
        taken = []
        for name, port in wanted.items():
            # The leaf port listens on every address (see nats_config).
            host = "0.0.0.0" if name == "nats-leaf" else self.host
            with socket.socket() as probe:
                # As the servers bind: a port left in TIME_WAIT by a stopped one is free.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((host, port))
                except OSError:
                    taken.append((name, port))
        return taken

    def wait_ready(self, name: str, *, timeout: float = 60) -> None:
        """Poll ``/readyz`` until that service, and no other program, answers 200; raise if the
        process dies or time runs out."""
        deadline = time.monotonic() + timeout
        process = self.processes.get(name)
        service = self.replicas.get(name, name)
        while True:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode}")
            with contextlib.suppress(httpx.HTTPError, ValueError):
                answer = httpx.get(self.url(name) + "/readyz", timeout=2)
                if answer.status_code == 200 and answer.json().get("service") == service:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready after {timeout} s")
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        """SIGKILL one process, as a crash would (tests use it)."""
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def stop(self, *, timeout: float = 15) -> None:
        """SIGTERM the services, wait for them, then stop NATS; SIGKILL whatever lingers."""
        order = [n for n in self.processes if n != "nats"] + (
            ["nats"] if "nats" in self.processes else []
        )
        for group in ([n for n in order if n != "nats"], ["nats"]):
            for name in group:
                if name in self.processes and self.processes[name].poll() is None:
                    self.processes[name].terminate()
            for name in group:
                if name not in self.processes:
                    continue
                try:
                    self.processes[name].wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.processes[name].kill()
                    self.processes[name].wait()
        self.processes.clear()

    def crashed(self) -> list[str]:
        """Processes that have exited on their own."""
        return [n for n, p in self.processes.items() if p.poll() is not None]

    def supervise(self, stopping: threading.Event) -> None:
        """Start again whatever process exits on its own, until ``stopping`` is set."""
        while not stopping.wait(0.5):
            for name in self.crashed():
                if stopping.is_set():
                    return
                print(f"{name} s'est arrêté ; redémarrage… / {name} stopped; restarting…")
                if name == "nats":
                    self.start_nats()
                else:
                    self.start_service(name)


def stop_on_signals() -> threading.Event:
    """An event Ctrl-C or SIGTERM sets, so the launcher stops its processes cleanly."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return stopping


def _wait_port(host: str, port: int, *, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nats-server exited with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")
