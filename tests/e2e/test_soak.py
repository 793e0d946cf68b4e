"""The soak and chaos run, bounded for CI, on the embedded topology (SQLite, one nats-server, one
process per service): uploads of every kind while every service is restarted three times, NATS
is killed and the whole hub restarted twice; then the ledger (tests/soak/ledger.py) must show
nothing lost, nothing twice, no 5xx outside a fault, every service ready and every outbox back
at rest. The same traffic and ledger run on PostgreSQL in the production topology
(tests/production/test_topology.py: replicas, a NATS cluster, PostgreSQL and S3 restarted);
``platforms(…, "postgresql")`` still runs this plan on PostgreSQL by hand."""

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.figures import record
from tests.soak import ledger
from tests.soak.chaos import Chaos
from tests.soak.run import Soak, ci_plan, platforms, play, prepare
from tests.soak.traffic import Sent, Traffic

pytestmark = pytest.mark.e2e


@pytest.mark.long
def test_soak_with_restarts(tmp_path: Path, alone: None) -> None:
    engine = "sqlite"
    with platforms(tmp_path, engine) as (hub, node):
        token, rival, traffic = prepare(hub, node, opens_after=45)
        soak = Soak(hub, node, token, rival, Chaos(hub.platform, node), traffic)
        play(soak, ci_plan, uploaders=2, pause=0.2)
        found = ledger.check(soak)
        # The ledger is this test's output: shown in CI's log whether it passes or not.
        record("soak-" + engine, ledger.report(soak, found, title=engine))
    assert found.broken == []
    assert sum(found.accepted.values()) >= 100
    assert soak.early == []


class Stalled(Soak):
    """A run whose platform is gone: an upload that never ends, clients that only wait."""

    def uploader(self, pause: float, limit: int | None) -> None:
        self.stop.wait()

    def reader(self) -> None:
        self.stop.wait()

    def sampler(self, every: float) -> None:
        self.stop.wait()

    def _follow(self, client: httpx.Client, sent: Sent) -> None:
        pass  # never answered: the upload stays pending


def test_a_failed_run_ends_every_thread_it_started() -> None:
    """A fault that fails the run must fail it, not leave the follower waiting for ever for
    uploads that can no longer end (pytest would then never exit)."""
    soak = Stalled(None, None, "", "", None, Traffic(release_id="", opens_at=0))  # type: ignore[arg-type]
    soak.journal.sent.append(Sent("valid", "x", b"", {}, "hub", upload_id="u"))
    before = set(threading.enumerate())

    def failing(soak: Soak) -> None:
        raise AssertionError("ingest still running 30 s after SIGTERM")

    started = time.monotonic()
    with pytest.raises(AssertionError, match="SIGTERM"):
        play(soak, failing, uploaders=2, pause=0)
    assert time.monotonic() - started < 10
    assert set(threading.enumerate()) <= before
