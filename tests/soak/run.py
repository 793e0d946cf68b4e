"""The soak run itself: a hub and a node started as `datacommune up` and `datacommune node`
start them, clients sending and reading in threads, and a plan of faults played meanwhile."""

import contextlib
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from datacommune.cli.platform import SERVICES, Platform
from tests import servers
from tests.platform import Running, running_platform
from tests.soak.chaos import Chaos
from tests.soak.traffic import ENDED, Journal, Sent, Traffic, plain_rows, post, problem_type

NODE = "soak"
EXPORTS = ("csv", "json", "geojson", "parquet", "xlsx")
# Outbox rows kept only a few seconds, so that the run can see the tables come back to their
# steady size (in production: JetStream's duplicate window, 15 minutes).
# The run's many clients all come from 127.0.0.1: no limit of requests per client address.
SOAK_ENV = {
    "OUTBOX__KEEP_SENT_SECONDS": "3",
    "OUTBOX__PRUNE_EVERY_SECONDS": "1",
    "HTTP__REQUESTS_PER_SECOND": "0",
}


@dataclass
class Soak:
    """Everything one run holds; ``ledger.check`` reads it afterwards."""

    hub: Running
    node: Platform
    token: str
    rival: str
    chaos: Chaos
    traffic: Traffic
    journal: Journal = field(default_factory=Journal)
    stop: threading.Event = field(default_factory=threading.Event)
    # Set once the run stops waiting for uploads to end (or has failed): the follower stops.
    drained: threading.Event = field(default_factory=threading.Event)
    races: list[tuple[str, list[int], list[str]]] = field(default_factory=list)
    early: list[float] = field(default_factory=list)
    rss: list[tuple[float, str, int]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def url(self, via: str) -> str:
        return self.node.url("ingest") if via == "node" else self.hub.url("ingest")

    # The clients ----------------------------------------------------------------------------

    def uploader(self, pause: float, limit: int | None) -> None:
        """Send uploads one after another until told to stop (or ``limit`` are sent)."""
        with httpx.Client() as client:
            while not self.stop.is_set():
                if limit is not None and len(self.journal.sent) >= limit:
                    return
                sent = self.traffic.next()
                with self.journal.lock:
                    self.journal.sent.append(sent)
                post(client, self.journal, self.url(sent.via), self.token, sent, service=sent.via)
                self.stop.wait(pause)

    def race(self, round_: int) -> None:
        """Eight first uploads to a new dataset at once, from two organizations."""
        slug = f"soak-course-{round_}"
        tokens = [self.token if i % 2 == 0 else self.rival for i in range(8)]
        sent = [Sent("race", slug, plain_rows(f"{slug}-{i}", 3), {}, "hub") for i in range(8)]
        threads = [
            threading.Thread(target=self._post_one, args=(token, one))
            for token, one in zip(tokens, sent, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [t for t, s in zip(tokens, sent, strict=True) if s.accepted]
        codes = [s.code or 0 for s in sent]
        self.races.append((slug, codes, [w[:6] for w in winners]))
        with self.journal.lock:
            # Only the winners' files are owed a publication.
            self.journal.sent.extend(s for s in sent if s.accepted)

    def _post_one(self, token: str, sent: Sent) -> None:
        with httpx.Client() as client:
            post(client, self.journal, self.hub.url("ingest"), token, sent, service="hub")

    def follower(self) -> None:
        """Follow every accepted upload to its end, as `datacommune publish` does."""
        with httpx.Client(timeout=10) as client:
            while not self.drained.is_set() and (not self.stop.is_set() or self.pending()):
                for sent in self.pending():
                    self._follow(client, sent)
                time.sleep(0.2)

    def pending(self) -> list[Sent]:
        with self.journal.lock:
            return [s for s in self.journal.sent if s.upload_id and s.ended_at is None]

    def _follow(self, client: httpx.Client, sent: Sent) -> None:
        path = f"/api/v1/uploads/{sent.upload_id}"
        try:
            answer = client.get(
                self.url(sent.via) + path, headers={"Authorization": f"Bearer {sent.token}"}
            )
        except httpx.HTTPError:
            self.journal.answered(sent.via, path, None)
            return
        self.journal.answered(sent.via, path, answer.status_code, problem_type(answer))
        if answer.status_code != 200:
            return
        body = answer.json()
        sent.status = body["status"]
        if body.get("download_url"):
            sent.version_id = body["download_url"].rstrip("/").split("/")[-2]
        if sent.status in ENDED:
            sent.ended_at = time.monotonic()

    def reader(self) -> None:
        """A reuser reading the catalogue meanwhile, every kind of read path in turn (search,
        pages, feeds, CKAN, rows and every export of a published version); and, before the
        release opens, checking that its dataset is nowhere to be seen."""
        catalog = self.hub.url("catalog")
        with httpx.Client(timeout=30) as client:
            turn = 0
            while not self.stop.is_set():
                for path in self._reads(turn):
                    self._read(client, catalog, path)
                turn += 1
                if time.monotonic() < self.traffic.opens_at - 0.5:
                    code = self._read(client, catalog, "/api/v1/datasets/soak-embargo")
                    if code == 200 and time.monotonic() < self.traffic.opens_at - 0.5:
                        self.early.append(time.monotonic() - self.started)
                self.stop.wait(0.5)

    def _reads(self, turn: int) -> list[str]:
        with self.journal.lock:
            published = [
                s for s in self.journal.sent if s.status == "published" and s.kind == "repaired"
            ]
        paths = [
            "/api/v1/datasets?q=subventions&facet=organization",
            "/",
            "/?q=soak",
            "/api/v1/catalog.ttl" if turn % 10 == 0 else "/api/v1/datasets/soak-valide-0",
            "/feeds/datasets.atom",
            "/api/3/action/package_search?q=soak&rows=5",
        ]
        if published:
            chosen = published[turn % len(published)]
            version = chosen.version_id
            paths += [
                f"/jeux-de-donnees/{chosen.dataset}",
                f"/api/v1/versions/{version}/rows?_size=20",
                f"/api/v1/versions/{version}/rows.{EXPORTS[turn % len(EXPORTS)]}",
            ]
        return paths

    def _read(self, client: httpx.Client, base: str, path: str) -> int | None:
        try:
            answer = client.get(base + path)
        except httpx.HTTPError:
            self.journal.answered("catalog", path, None)
            return None
        self.journal.answered("catalog", path, answer.status_code, problem_type(answer))
        return answer.status_code

    def sampler(self, every: float) -> None:
        """Each process's resident memory, every ``every`` seconds."""
        while not self.stop.is_set():
            now = time.monotonic() - self.started
            for prefix, platform in (("", self.hub.platform), ("node-", self.node)):
                for name, process in list(platform.processes.items()):
                    if rss := resident(process.pid):
                        self.rss.append((now, prefix + name, rss))
            self.stop.wait(every)


def resident(pid: int) -> int | None:
    """The resident set of a process in bytes, from /proc (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@contextlib.contextmanager
def platforms(root: Path, engine: str) -> Iterator[tuple[Running, Platform]]:
    """A hub (SQLite or PostgreSQL, one database per service) taking in one node."""
    leaf_port = servers.free_port()
    with contextlib.ExitStack() as stack:
        databases = {}
        if engine == "postgresql":
            databases = {
                name: stack.enter_context(servers.postgres_database()) for name in SERVICES
            }
        hub = stack.enter_context(
            running_platform(
                root / "hub",
                databases=databases,
                env=SOAK_ENV,
                per_service_env={"ingest": {"NATS__HUB_NODES": json.dumps([NODE])}},
                leaf_port=leaf_port,
            )
        )
        node = stack.enter_context(
            node_platform(root / "node", f"nats-leaf://127.0.0.1:{leaf_port}")
        )
        yield hub, node


@contextlib.contextmanager
def node_platform(var: Path, hub: str) -> Iterator[Platform]:
    """An ingest node (its own leaf nats-server and ingest) linked to the hub at ``hub``."""
    node = Platform(
        var=var,
        ports={"ingest": servers.free_port(), "nats": servers.free_port()},
        leaf_remote=hub,
        node_name=NODE,
        env=SOAK_ENV,
        per_service_env={"ingest": {"NATS__NODE": NODE, "NATS__HUB_DOMAIN": "hub"}},
        quiet=True,
    )
    try:
        node.var.mkdir(parents=True, exist_ok=True)
        node.start_nats()
        node.start_service("ingest")
        node.wait_ready("ingest", timeout=60)
        yield node
    finally:
        node.stop()


def prepare(hub: Running, node: Platform, *, opens_after: float) -> tuple[str, str, Traffic]:
    """The organizations, the node knowing their tokens, and a release opening mid-run."""
    token = hub.organization("soak")
    rival = hub.organization("soak-rival")
    whoami = node.url("ingest") + "/api/v1/whoami"
    hub._wait(
        lambda: httpx.get(whoami, headers={"Authorization": f"Bearer {token}"}).status_code == 200,
        timeout=60,
    )
    at = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=opens_after)
    plan = httpx.post(
        hub.url("events") + "/api/v1/releases",
        json={"title": "Conseil du soak", "at": at.isoformat(), "timezone": "UTC"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert plan.status_code == 201, plan.text
    traffic = Traffic(release_id=plan.json()["id"], opens_at=time.monotonic() + opens_after)
    return token, rival, traffic


def play(
    soak: Soak,
    plan: Callable[[Soak], None],
    *,
    uploaders: int,
    pause: float,
    limit: int | None = None,
    sample_every: float = 1.0,
    drain: float = 180,
) -> None:
    """Run the clients while ``plan`` plays its faults; then let every upload end."""
    # Daemons: should one hang, a failed run still ends its process (pytest waits for the
    # others at exit).
    threads = [
        threading.Thread(target=soak.uploader, args=(pause, limit), daemon=True)
        for _ in range(uploaders)
    ]
    threads += [
        threading.Thread(target=soak.reader, daemon=True),
        threading.Thread(target=soak.sampler, args=(sample_every,), daemon=True),
    ]
    follower = threading.Thread(target=soak.follower, daemon=True)
    for thread in [*threads, follower]:
        thread.start()
    try:
        try:
            plan(soak)
            # The release must have opened before the run stops sending.
            while time.monotonic() < soak.traffic.opens_at + 2:
                time.sleep(0.2)
        finally:
            soak.stop.set()
            for thread in threads:
                thread.join(timeout=180)
        deadline = time.monotonic() + drain
        while soak.pending() and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        soak.drained.set()
        follower.join(timeout=15)


def ci_plan(soak: Soak) -> None:
    """Every hub service restarted three times (by SIGTERM and by SIGKILL in turn), NATS killed,
    the whole hub restarted twice, the node's ingest restarted, and first uploads racing."""
    for round_ in range(3):
        # Two services at a time, as a redeploy would; each gets both signals over the rounds.
        for pair in (("ingest", "catalog"), ("validate", "events")):
            blows = [
                (name, signal.SIGTERM if (round_ + SERVICES.index(name)) % 2 else signal.SIGKILL)
                for name in pair
            ]
            soak.chaos.restart(*blows)
            time.sleep(1)
        soak.race(round_)
        if round_ == 0:
            soak.chaos.kill_nats()
        if round_ == 1:
            soak.chaos.restart(("ingest", signal.SIGKILL), on=soak.node)
        if round_ < 2:
            time.sleep(2)
            soak.chaos.restart_all()
        time.sleep(2)
