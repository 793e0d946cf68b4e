"""The soak and chaos run, bounded for CI, on SQLite and on PostgreSQL: uploads of every kind
while every service is restarted three times, NATS is killed and the whole hub restarted twice;
then the ledger (tests/soak/ledger.py) must show nothing lost, nothing twice, no 5xx outside a
fault, every service ready and every outbox back at rest."""

from pathlib import Path

import pytest

from tests.soak import ledger
from tests.soak.chaos import Chaos
from tests.soak.run import Soak, ci_plan, platforms, play, prepare

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_soak_with_restarts(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    if engine == "postgresql":
        request.getfixturevalue("postgres_available")
    with platforms(tmp_path, engine) as (hub, node):
        token, rival, traffic = prepare(hub, node, opens_after=45)
        soak = Soak(hub, node, token, rival, Chaos(hub.platform, node), traffic)
        play(soak, ci_plan, uploaders=2, pause=0.2)
        found = ledger.check(soak)
        with capsys.disabled():
            # The ledger is this test's output: shown in CI's log whether it passes or not.
            print("\n" + ledger.report(soak, found, title=engine))  # noqa: T201
    assert found.broken == []
    assert sum(found.accepted.values()) >= 100
    assert soak.early == []
