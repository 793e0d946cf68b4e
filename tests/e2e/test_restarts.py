"""Every service restarts as often as an operator restarts it, by SIGTERM or SIGKILL, on SQLite
and on PostgreSQL, with organizations, tokens, delegations and releases in its tables."""

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import servers
from tests.platform import ADMIN, Running, csv_rows, running_platform

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Running]:
    """A platform of this test's own, so that its restarts disturb no other test."""
    with contextlib.ExitStack() as stack:
        databases: dict[str, str] = {}
        if request.param == "postgresql":
            request.getfixturevalue("postgres_available")
            databases = {
                name: stack.enter_context(servers.postgres_database())
                for name in ("ingest", "validate", "catalog", "events")
            }
        yield stack.enter_context(running_platform(tmp_path, databases=databases))


def outbox_rows(running: Running, service: str) -> int:
    """How many rows the service's outbox holds."""
    return running.count(service, "SELECT count(*) FROM outbox")


def restart(running: Running, name: str, how: signal.Signals) -> None:
    process = running.platform.processes.pop(name)
    process.send_signal(how)
    process.wait(timeout=30)
    running.platform.start_service(name)
    running.platform.wait_ready(name, timeout=60)


def test_catalog_starts_again_and_again_with_organizations(fresh: Running) -> None:
    running = fresh
    catalog = running.url("catalog")
    admin = {"Authorization": f"Bearer {ADMIN}"}
    running.organization("haute-garonne", kind="departement")
    epci = running.organization("sicoval", kind="epci", parent="haute-garonne")
    token = running.organization("roques", parent="sicoval")
    own = {"Authorization": f"Bearer {token}"}
    issued = httpx.post(f"{catalog}/api/v1/organizations/roques/tokens", json={}, headers=own)
    assert issued.status_code == 201, issued.text
    revoked = httpx.delete(
        f"{catalog}/api/v1/organizations/roques/tokens/{issued.json()['id']}", headers=own
    )
    assert revoked.status_code == 204, revoked.text
    granted = httpx.post(
        f"{catalog}/api/v1/organizations/roques/delegations",
        json={"delegate": "sicoval"},
        headers=own,
    )
    assert granted.status_code == 201, granted.text
    assert httpx.get(f"{catalog}/api/v1/organizations", headers=admin).status_code == 200

    sizes = []
    for how in (signal.SIGTERM, signal.SIGKILL, signal.SIGTERM, signal.SIGKILL):
        restart(running, "catalog", how)
        sizes.append(outbox_rows(running, "catalog"))
    # The first start re-announced everything once; the next ones, with nothing changed,
    # added nothing (and never crashed on a row already there).
    assert len(set(sizes)) == 1, sizes

    # The platform still works end to end, for the commune and for its EPCI.
    for who, slug in ((token, "apres-redemarrages"), (epci, "pour-roques")):
        data = {"dataset": slug, "on_behalf_of": "roques"}
        answer = httpx.post(
            running.url("ingest") + "/api/v1/uploads",
            data=data,
            files={"file": ("data.csv", csv_rows(5, slug), "text/csv")},
            headers={"Authorization": f"Bearer {who}"},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        assert running.wait_status(who, answer.json()["id"], {"published"}, timeout=60)


@pytest.fixture(scope="module")
def restarted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, str]]:
    """One platform for the three services' restarts (each test restarts its own service),
    with an organization."""
    with running_platform(tmp_path_factory.mktemp("restarted")) as running:
        yield running, running.organization("roques")


@pytest.mark.parametrize("service", ["ingest", "validate", "events"])
def test_each_service_starts_again_and_again(restarted: tuple[Running, str], service: str) -> None:
    running, token = restarted
    for how in (signal.SIGTERM, signal.SIGKILL, signal.SIGTERM):
        restart(running, service, how)
    answer = running.upload(token, csv_rows(5, service), dataset=f"apres-{service}")
    assert answer.status_code == 202, answer.text
    assert running.wait_status(token, answer.json()["id"], {"published"}, timeout=60)
