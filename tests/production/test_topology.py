"""The production topology under faults (tests/production/topology.py): uploads and reads go
through HAProxy while one NATS server is killed and brought back, each service loses one
replica after the other (SIGKILL, then SIGTERM), PostgreSQL is restarted, the S3 server is
restarted and the node's ingest is killed; then the soak's ledger (tests/soak/ledger.py) must
show every accepted upload final, every publication once with its exact bytes, no 5xx outside a
fault, and the release opened once and never early, across two events replicas."""

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from datacommune.cli.platform import SERVICES
from tests.figures import cpu_seconds, record
from tests.production import engines
from tests.production.topology import REPLICAS, Topology, production
from tests.soak import ledger
from tests.soak.chaos import Chaos
from tests.soak.run import Soak, play, prepare

pytestmark = pytest.mark.e2e


@dataclass
class Phase:
    """What the clients did while one fault lasted."""

    what: str
    seconds: float
    uploads: int
    requests: int
    failures: int
    codes: Counter[str]


class Faults:
    """The plan, each fault timed (``Chaos``) and its traffic counted."""

    def __init__(self, soak: Soak, topology: Topology) -> None:
        self.soak = soak
        self.topology = topology
        self.phases: list[Phase] = []

    def _counts(self) -> tuple[int, int, int]:
        journal = self.soak.journal
        with journal.lock:
            return len(journal.sent), journal.requests, len(journal.failures)

    def fault(self, what: str, how: str, action: Callable[[], None], *, timed: bool = True) -> None:
        """Play ``action`` (timed as a fault until everything is ready again, unless it times
        itself) and count the traffic meanwhile."""
        before = self._counts()
        started = time.monotonic()
        if timed:
            self.soak.chaos._timed(what, how, lambda: (action(), self._all_ready()))
        else:
            action()
        self._phase(f"{what} {how}", started, before)

    def _phase(self, what: str, started: float, before: tuple[int, int, int]) -> None:
        after = self._counts()
        counts = [a - b for a, b in zip(after, before, strict=True)]
        with self.soak.journal.lock:
            failed = self.soak.journal.failures[before[2] : after[2]]
        codes = Counter(
            f"{f.code or 'refused'} {f.service} {f.problem.rsplit('/', 1)[-1]}".rstrip()
            for f in failed
        )
        self.phases.append(Phase(what, time.monotonic() - started, *counts, codes))

    def _all_ready(self) -> None:
        """Every service answers ready through the balancer, and every replica of it."""
        platform = self.topology.hub.platform
        for name in SERVICES:
            platform.wait_ready(name, timeout=120)
        for name in platform.replicas:
            platform.wait_ready(name, timeout=120)

    def calm(self, seconds: float) -> None:
        before = self._counts()
        started = time.monotonic()
        time.sleep(seconds)
        self._phase("(no fault)", started, before)

    def play(self, soak: Soak) -> None:
        top = self.topology
        self.calm(5)

        def nats_server() -> None:
            top.cluster.kill(0)
            time.sleep(3)
            top.cluster.start(0)

        self.fault("nats-n0", "SIGKILL", nats_server)
        self.calm(3)
        for how, n in ((signal.SIGKILL, 1), (signal.SIGTERM, 2)):
            for name in SERVICES:

                def replica(name: str = name, n: int = n, how: signal.Signals = how) -> None:
                    top.stop_replica(name, n, how)
                    time.sleep(1)
                    top.start_replica(name, n)

                self.fault(top.replica(name, n), how.name, replica)
        soak.race(0)

        def database() -> None:
            top.postgres.stop("fast")
            time.sleep(2)
            top.postgres.start()

        self.fault("postgresql", "restart", database)
        self.calm(3)

        def s3() -> None:
            top.s3.kill()
            time.sleep(2)
            top.s3.start()

        self.fault("s3", "SIGKILL", s3)
        self.calm(3)
        self.fault(
            "node-ingest",
            "SIGKILL",
            lambda: soak.chaos.restart(("ingest", signal.SIGKILL), on=top.node),
            timed=False,  # Chaos.restart times it
        )
        self.calm(3)

    def table(self) -> str:
        lines = ["phase                    seconds  uploads  requests  5xx/unreachable"]
        lines += [
            f"{p.what:<24} {p.seconds:7.1f}  {p.uploads:7d}  {p.requests:8d}  {p.failures:6d}  "
            + ", ".join(f"{k} ×{v}" for k, v in sorted(p.codes.items()))
            for p in self.phases
        ]
        return "\n".join(lines)


@pytest.mark.long
def test_production_topology_under_faults(tmp_path: Path, alone: None) -> None:
    reason = engines.missing()
    if reason:
        if os.environ.get("CI"):
            raise RuntimeError(f"the production topology must run in CI: {reason}")
        pytest.skip(reason)
    with production(tmp_path) as top:
        token, rival, traffic = prepare(top.hub, top.node, opens_after=40)
        soak = Soak(top.hub, top.node, token, rival, Chaos(top.hub.platform, top.node), traffic)
        faults = Faults(soak, top)
        play(soak, faults.play, uploaders=2, pause=0.2)
        found = ledger.check(soak)
        lines = [
            ledger.report(soak, found, title=f"production, {REPLICAS} replicas"),
            faults.table(),
            "HTTP requests per replica since its last start (health checks aside): "
            + ", ".join(f"{k} {v}" for k, v in _served_by_each_replica(top).items()),
            "load average (1, 5, 15 min) at the end: "
            + ", ".join(f"{x:.1f}" for x in os.getloadavg()),
            "CPU s per process since its last start: "
            + ", ".join(
                f"{name} {cpu_seconds(process.pid):.1f}"
                for name, process in sorted(top.hub.platform.processes.items())
            ),
        ]
        gauges = _uploads_by_status(top)
        # The ledger and the phases are this test's output, shown in CI's log.
        record("production-topology", "\n".join(lines))
    assert found.broken == []
    # Whatever was down, nobody was told of an internal error: an engine away is a 503 to retry.
    errors = [f"{f.service} {f.path} {f.problem}" for f in soak.journal.failures if f.code == 500]
    assert errors == [], errors[:10]
    assert soak.early == []
    assert sum(found.accepted.values()) >= 50
    # The gauge an operator watches says what the ledger says (counted from ingest's database:
    # the same whichever replica answers, and across restarts).
    assert gauges["published"] == found.ended["published"], gauges
    assert gauges["invalid"] == found.ended["invalid"], gauges


def _served_by_each_replica(top: Topology) -> dict[str, int]:
    """HTTP requests each replica counted (its /metrics), to show the balancer used both."""
    counts = {}
    platform = top.hub.platform
    for replica in sorted(platform.replicas):
        text = httpx.get(platform.url(replica) + "/metrics", timeout=10).text
        counts[replica] = int(
            sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("datacommune_http_requests_total{")
                and 'route="/readyz"' not in line  # the balancer's health checks
            )
        )
    return counts


def _uploads_by_status(top: Topology) -> dict[str, float]:
    """``datacommune_uploads`` as ingest answers it through the balancer."""
    found = {}
    for line in httpx.get(top.hub.url("ingest") + "/metrics", timeout=10).text.splitlines():
        if line.startswith("datacommune_uploads{"):
            labels, value = line.rsplit(" ", 1)
            found[labels.split('status="')[1].split('"')[0]] = float(value)
    return found
