"""Every write endpoint × every kind of caller gives the right answer, and nothing private of
one organization appears to another.

The endpoints come from the services' OpenAPI documents: a new write endpoint fails this test
until the table below says who may call it.
"""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.figures import OPENAPI_WAIT
from tests.platform import ADMIN, Running

pytestmark = pytest.mark.e2e

COMMUNE, EPCI, DEPT, OTHER = "roques-m", "sicoval-m", "haute-garonne-m", "voisine-m"
CALLERS = ("none", "expired", "revoked", "other", "viewer", "publisher", "delegated", "admin")
# Writes anyone may make (no organization's data), and CKAN's read actions sent as POST.
PUBLIC = {
    ("catalog", "POST", "/api/v1/requests"),
    ("catalog", "POST", "/api/v1/requests/{request_id}/votes"),
    ("catalog", "POST", "/api/v1/webhooks"),
    ("catalog", "DELETE", "/api/v1/webhooks/{webhook_id}"),  # needs the subscription's secret
    # Signing in checks the token it is given; signing out forgets the cookie.
    ("ingest", "POST", "/espace/connexion"),
    # Anyone may ask and vote, from the page (a voter cookie and its form field, no token).
    ("catalog", "POST", "/demandes"),
    ("catalog", "POST", "/demandes/{request_id}/votes"),
    ("ingest", "POST", "/espace/deconnexion"),
}

Request = tuple[str, str, dict[str, Any]]


class World:
    """Three levels of territory, a neighbour, and tokens of every kind for the commune."""

    def __init__(self, running: Running) -> None:
        self.running = running
        running.organization(DEPT, kind="departement")
        self.epci_admin = running.organization(EPCI, kind="epci", parent=DEPT)
        self.admin = running.organization(COMMUNE, parent=EPCI)
        self.other = running.organization(OTHER, parent=EPCI)
        self.viewer = self.token("viewer")
        self.publisher = self.token("publisher")
        # It must reach ingest and events before it expires (known, then refused for its
        # date, not for being unknown): 2 s ran out under a loaded fresh-clone run.
        self.expired = self.token(
            "publisher", expires_at=(datetime.now(UTC) + timedelta(seconds=15)).isoformat()
        )
        revoked = self.token("publisher", keep_id=True)
        self.revoked, revoked_id = revoked
        answer = httpx.delete(
            f"{self.catalog}/organizations/{COMMUNE}/tokens/{revoked_id}",
            headers=self.auth("admin"),
        )
        assert answer.status_code == 204, answer.text
        granted = httpx.post(
            f"{self.catalog}/organizations/{COMMUNE}/delegations",
            json={"delegate": EPCI},
            headers=self.auth("admin"),
        )
        assert granted.status_code == 201, granted.text
        for token in (self.viewer, self.publisher, self.expired):
            self.wait_known(token)
        self.wait_refused(self.revoked)
        while datetime.now(UTC) < datetime.fromisoformat(self.expired_at):
            time.sleep(0.1)
        # The commune's own things the writes aim at.
        first = b"poste,montant\nvoirie,1\n"
        uploaded = self.upload("publisher", first)
        assert uploaded.status_code == 202, uploaded.text
        self.upload_id = uploaded.json()["id"]
        running.wait_status(self.publisher, self.upload_id, {"published", "invalid"})
        self.event_id = self.local_event()
        self.wait_delegated(first)

    def wait_delegated(self, known: bytes) -> None:
        """Until ingest knows the delegation: the EPCI re-posting the commune's own bytes for it
        is refused (403) before, and answered with that same upload after (nothing new made)."""
        deadline = time.monotonic() + 30
        while (answer := self.upload("delegated", known, on_behalf_of=COMMUNE)).status_code == 403:
            assert time.monotonic() < deadline, "the delegation never reached ingest"
            time.sleep(0.05)
        assert answer.json()["id"] == self.upload_id, answer.text

    @property
    def catalog(self) -> str:
        return self.running.url("catalog") + "/api/v1"

    @property
    def events(self) -> str:
        return self.running.url("events") + "/api/v1"

    def token(self, role: str, *, keep_id: bool = False, **extra: Any) -> Any:
        made = httpx.post(
            f"{self.catalog}/organizations/{COMMUNE}/tokens",
            json={"role": role, **extra},
            headers={"Authorization": f"Bearer {self.admin}"},
        )
        assert made.status_code == 201, made.text
        if "expires_at" in extra:
            self.expired_at = made.json()["expires_at"]
        return (made.json()["token"], made.json()["id"]) if keep_id else made.json()["token"]

    def wait_known(self, token: str) -> None:
        self._wait_answer(token, known=True, what="the token never reached the services")

    def wait_refused(self, token: str) -> None:
        self._wait_answer(token, known=False, what="the revocation never reached the services")

    def _wait_answer(self, token: str, *, known: bool, what: str) -> None:
        """Until ingest and events, which learn of tokens by events, know it (or refuse it)."""
        # A bound on liveness: an event crosses in well under a second on a quiet machine.
        deadline = time.monotonic() + 60
        for url in (
            self.running.url("ingest") + "/api/v1/whoami",
            f"{self.events}/releases",
        ):
            headers = {"Authorization": f"Bearer {token}"}
            while (httpx.get(url, headers=headers).status_code == 401) == known:
                assert time.monotonic() < deadline, what
                time.sleep(0.05)

    def auth(self, caller: str) -> dict[str, str]:
        token = {
            "none": None,
            "expired": self.expired,
            "revoked": self.revoked,
            "other": self.other,
            "viewer": self.viewer,
            "publisher": self.publisher,
            "delegated": self.epci_admin,
            "admin": self.admin,
        }[caller]
        return {"Authorization": f"Bearer {token}"} if token else {}

    def upload(self, caller: str, content: bytes, **fields: str) -> httpx.Response:
        return self.running.client.post(
            self.running.url("ingest") + "/api/v1/uploads",
            data={"dataset": "budget-roques-m", **fields},
            files={"file": ("budget.csv", content, "text/csv")},
            headers=self.auth(caller),
        )

    def local_event(self) -> str:
        made = httpx.post(
            f"{self.events}/local-events",
            json={"title": "Conseil", "starts_at": "2027-06-01T20:00:00"},
            headers=self.auth("admin"),
        )
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    def release(self) -> str:
        made = httpx.post(
            f"{self.events}/releases",
            json={"title": "Lot", "local_event_id": self.event_id},
            headers=self.auth("admin"),
        )
        assert made.status_code == 201, made.text
        return str(made.json()["id"])


def send(world: World, caller: str, request: Request) -> httpx.Response:
    method, url, kwargs = request
    headers = {**world.auth(caller), **kwargs.pop("headers", {})}
    return httpx.request(method, url, headers=headers, **kwargs)


DENIED = {"none": 401, "expired": 401, "revoked": 401}


def expect(**answers: int | set[int]) -> dict[str, set[int]]:
    table = {**DENIED, **answers}
    return {c: v if isinstance(v, set) else {v} for c, v in table.items()}


def upload(caller: str) -> dict[str, Any]:
    """A new small file for the commune's dataset; the delegate says for whom it sends it."""
    return {
        "data": {
            "dataset": "budget-roques-m",
            **({"on_behalf_of": COMMUNE} if caller == "delegated" else {}),
        },
        "files": {"file": ("b.csv", f"a,b\n{uuid.uuid4().hex[:8]},1\n".encode(), "text/csv")},
    }


def cases(
    w: World,
) -> dict[tuple[str, str, str], tuple[Callable[[str], Request], dict[str, set[int]]]]:
    """For each write endpoint: how a caller calls it on the commune's things, and the answers."""
    c, e, i = w.catalog, w.events, w.running.url("ingest") + "/api/v1"
    unique = lambda: uuid.uuid4().hex[:8]  # noqa: E731
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//FR\r\nBEGIN:VEVENT\r\n"
        "UID:{u}@t\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270301T190000Z\r\n"
        "SUMMARY:Conseil municipal\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    admin_only = expect(
        other=403, viewer=403, publisher=403, delegated=403, admin={200, 201, 204, 404}
    )
    return {
        ("catalog", "POST", "/api/v1/organizations"): (
            lambda caller: (
                "POST",
                f"{c}/organizations",
                {"json": {"slug": f"org-{unique()}", "name": "X"}},
            ),
            # Only the platform administrator registers organizations.
            {
                **expect(other=403, viewer=403, publisher=403, delegated=403, admin=403),
                "expired": {403},
                "revoked": {403},
            },
        ),
        ("catalog", "PUT", "/api/v1/places"): (
            lambda caller: (
                "PUT",
                f"{c}/places",
                {
                    "json": {
                        "source": "test",
                        "items": [
                            {
                                "insee_code": "31458",
                                "name": "Roques",
                                "longitude": 1.35,
                                "latitude": 43.5,
                            }
                        ],
                    }
                },
            ),
            # Only the platform administrator loads the communes' reference.
            {
                **expect(other=403, viewer=403, publisher=403, delegated=403, admin=403),
                "expired": {403},
                "revoked": {403},
            },
        ),
        ("catalog", "PATCH", "/api/v1/organizations/{slug}"): (
            lambda caller: ("PATCH", f"{c}/organizations/{COMMUNE}", {"json": {"parent": EPCI}}),
            # Only the platform administrator moves an organization in the territory tree.
            {
                **expect(other=403, viewer=403, publisher=403, delegated=403, admin=403),
                "expired": {403},
                "revoked": {403},
            },
        ),
        ("catalog", "PATCH", "/api/v1/datasets/{slug}"): (
            lambda caller: (
                "PATCH",
                f"{c}/datasets/budget-roques-m",
                {"json": {"keywords": ["a"]}},
            ),
            expect(other=403, viewer=403, publisher=200, delegated=403, admin=200),
        ),
        ("catalog", "POST", "/api/v1/organizations/{slug}/tokens"): (
            lambda caller: (
                "POST",
                f"{c}/organizations/{COMMUNE}/tokens",
                {"json": {"role": "viewer"}},
            ),
            admin_only,
        ),
        ("catalog", "DELETE", "/api/v1/organizations/{slug}/tokens/{token_id}"): (
            lambda caller: ("DELETE", f"{c}/organizations/{COMMUNE}/tokens/{uuid.uuid4()}", {}),
            admin_only,
        ),
        ("catalog", "POST", "/api/v1/organizations/{slug}/delegations"): (
            lambda caller: (
                "POST",
                f"{c}/organizations/{COMMUNE}/delegations",
                {"json": {"delegate": EPCI}},
            ),
            admin_only,
        ),
        ("catalog", "DELETE", "/api/v1/organizations/{slug}/delegations/{delegate}"): (
            lambda caller: ("DELETE", f"{c}/organizations/{COMMUNE}/delegations/{DEPT}", {}),
            admin_only,
        ),
        ("catalog", "POST", "/api/v1/organizations/{slug}/harvest-sources"): (
            lambda caller: (
                "POST",
                f"{c}/organizations/{COMMUNE}/harvest-sources",
                {"json": {"kind": "dcat", "url": "http://127.0.0.1:9/catalog.ttl"}},
            ),
            admin_only,
        ),
        ("catalog", "DELETE", "/api/v1/organizations/{slug}/harvest-sources/{source_id}"): (
            lambda caller: (
                "DELETE",
                f"{c}/organizations/{COMMUNE}/harvest-sources/{uuid.uuid4()}",
                {},
            ),
            admin_only,
        ),
        ("catalog", "POST", "/api/v1/organizations/{slug}/harvest-sources/{source_id}/run"): (
            lambda caller: (
                "POST",
                f"{c}/organizations/{COMMUNE}/harvest-sources/{uuid.uuid4()}/run",
                {},
            ),
            admin_only,
        ),
        ("ingest", "POST", "/api/v1/uploads"): (
            lambda caller: (
                "POST",
                f"{i}/uploads",
                upload(caller),
            ),
            # Another organization is told the name is taken (409), not whose it is.
            expect(other=409, viewer=403, publisher=202, delegated=202, admin=202),
        ),
        ("ingest", "POST", "/api/v1/uploads/{upload_id}/mapping"): (
            lambda caller: (
                "POST",
                f"{i}/uploads/{w.upload_id}/mapping",
                {"json": {"columns": {"a": "b"}}},
            ),
            # Another organization's upload does not exist for it; the commune's own gets past
            # the door (then 409: this upload has no schema to map to).
            expect(other=404, viewer=403, publisher=409, delegated=404, admin=409),
        ),
        # The pages' forms, sent by a script with a Bearer token (a browser sends the cookie
        # and the csrf field: tests/browser).
        ("ingest", "POST", "/espace/deposer"): (
            lambda caller: (
                "POST",
                f"{w.running.url('ingest')}/espace/deposer",
                upload(caller),
            ),
            expect(other=409, viewer=403, publisher=303, delegated=303, admin=303),
        ),
        ("ingest", "POST", "/espace/depots/{upload_id}/nouvel-essai"): (
            lambda caller: (
                "POST",
                f"{w.running.url('ingest')}/espace/depots/{w.upload_id}/nouvel-essai",
                {"data": {"fix": "1"}},
            ),
            expect(other=404, viewer=403, publisher=303, delegated=404, admin=303),
        ),
        ("events", "POST", "/espace/calendrier/evenements"): (
            lambda caller: (
                "POST",
                f"{w.running.url('events')}/espace/calendrier/evenements",
                {"data": {"title": "Réunion", "starts_at": "2027-06-02T18:00:00"}},
            ),
            expect(other=303, viewer=403, publisher=303, delegated=303, admin=303),
        ),
        ("events", "POST", "/espace/calendrier/publications"): (
            lambda caller: (
                "POST",
                f"{w.running.url('events')}/espace/calendrier/publications",
                {"data": {"title": "Lot", "local_event_id": w.event_id}},
            ),
            expect(other=403, viewer=403, publisher=303, delegated=403, admin=303),
        ),
        ("events", "POST", "/api/v1/local-events"): (
            lambda caller: (
                "POST",
                f"{e}/local-events",
                {"json": {"title": "Réunion", "starts_at": "2027-06-02T18:00:00"}},
            ),
            # Each creates its own: nothing of the commune is touched.
            expect(other=201, viewer=403, publisher=201, delegated=201, admin=201),
        ),
        ("events", "PATCH", "/api/v1/local-events/{event_id}"): (
            lambda caller: (
                "PATCH",
                f"{e}/local-events/{w.event_id}",
                {"json": {"location": "Mairie"}},
            ),
            expect(other=403, viewer=403, publisher=200, delegated=403, admin=200),
        ),
        ("events", "DELETE", "/api/v1/local-events/{event_id}"): (
            lambda caller: ("DELETE", f"{e}/local-events/{w.local_event()}", {}),
            expect(other=403, viewer=403, publisher=204, delegated=403, admin=204),
        ),
        ("events", "POST", "/api/v1/releases"): (
            lambda caller: (
                "POST",
                f"{e}/releases",
                {"json": {"title": "Lot", "local_event_id": w.event_id}},
            ),
            expect(other=403, viewer=403, publisher=201, delegated=403, admin=201),
        ),
        ("events", "DELETE", "/api/v1/releases/{release_id}"): (
            lambda caller: ("DELETE", f"{e}/releases/{w.release()}", {}),
            expect(other=404, viewer=403, publisher=204, delegated=404, admin=204),
        ),
        ("events", "POST", "/api/v1/local-events/import"): (
            lambda caller: (
                "POST",
                f"{e}/local-events/import",
                {
                    "content": ics.format(u=unique()).encode(),
                    "headers": {"Content-Type": "text/calendar"},
                },
            ),
            expect(other=200, viewer=403, publisher=200, delegated=200, admin=200),
        ),
        # Last: it withdraws the commune's dataset (its owner still sees it, so the calls after
        # the first withdrawal answer alike; a neighbour then finds nothing: 404).
        ("catalog", "DELETE", "/api/v1/datasets/{slug}"): (
            lambda caller: ("DELETE", f"{c}/datasets/budget-roques-m", {}),
            expect(other={403, 404}, viewer=403, publisher=204, delegated={403, 404}, admin=204),
        ),
    }


def write_endpoints(running: Running) -> set[tuple[str, str, str]]:
    found = set()
    for service in ("catalog", "ingest", "validate", "events"):
        spec = httpx.get(running.url(service) + "/openapi.json", timeout=OPENAPI_WAIT).json()
        for path, ops in spec["paths"].items():
            for method in ops:
                if method in ("post", "put", "patch", "delete") and "/action/" not in path:
                    found.add((service, method.upper(), path))
    return found


@pytest.fixture(scope="module")
def world(embedded: Running) -> World:
    return World(embedded)


def test_every_write_endpoint_for_every_caller(embedded: Running, world: World) -> None:
    table = cases(world)
    assert write_endpoints(embedded) - PUBLIC == set(table), "a write endpoint is not in the table"
    wrong = []
    for endpoint, (build, answers) in table.items():
        for caller in CALLERS:
            response = send(world, caller, build(caller))
            if response.status_code not in answers[caller]:
                wrong.append((endpoint, caller, response.status_code, response.text[:200]))
            elif response.status_code in (401, 403):
                body = response.json()
                assert body["type"] in ("/problems/unauthorized", "/problems/forbidden")
                assert body["detail"]
                assert body["detail_en"]
    assert not wrong, "\n".join(map(str, wrong))


def test_what_a_delegated_epci_publishes_records_who_and_for_whom(
    embedded: Running, world: World
) -> None:
    sent = world.upload("delegated", b"poste,montant\necole,5\n", on_behalf_of=COMMUNE)
    assert sent.status_code == 202, sent.text
    upload_id = sent.json()["id"]
    # The EPCI follows it; the commune owns it; the neighbour sees nothing of it.
    embedded.wait_status(world.epci_admin, upload_id, {"published"})
    for token, seen in ((world.admin, 200), (world.epci_admin, 200), (world.other, 404)):
        answer = httpx.get(
            embedded.url("ingest") + f"/api/v1/uploads/{upload_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == seen
    dataset = httpx.get(world.catalog + "/datasets/budget-roques-m").json()
    assert dataset["organization"] == COMMUNE
    versions = [v for r in dataset["resources"] for v in r["versions"]]
    assert any(v["uploaded_by"] == EPCI for v in versions)
    # Without the delegation, the EPCI cannot.
    removed = httpx.delete(
        f"{world.catalog}/organizations/{COMMUNE}/delegations/{EPCI}", headers=world.auth("admin")
    )
    assert removed.status_code == 204
    deadline = time.monotonic() + 30
    while world.upload("delegated", b"x,y\n1,2\n", on_behalf_of=COMMUNE).status_code != 403:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # Private things of the commune stay private to the neighbour.
    tokens = httpx.get(
        f"{world.catalog}/organizations/{COMMUNE}/tokens", headers=world.auth("other")
    )
    assert tokens.status_code == 403
    assert ADMIN not in tokens.text
