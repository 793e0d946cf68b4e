"""Local events: times across the Paris clock changes, and the CRUD over HTTP."""

from datetime import UTC, datetime

import httpx
import pytest

from datacommune.events.local_events import InvalidTime, to_utc
from tests.platform import Running


def test_a_plain_local_time_is_stored_in_utc() -> None:
    assert to_utc(datetime(2026, 12, 15, 20, 0), "Europe/Paris") == datetime(
        2026, 12, 15, 19, 0, tzinfo=UTC
    )
    assert to_utc(datetime(2026, 7, 14, 22, 0), "Europe/Paris") == datetime(
        2026, 7, 14, 20, 0, tzinfo=UTC
    )


def test_a_time_the_clocks_skip_is_refused() -> None:
    with pytest.raises(InvalidTime, match="does not exist"):
        to_utc(datetime(2026, 3, 29, 2, 30), "Europe/Paris")


def test_a_time_that_happens_twice_needs_its_offset() -> None:
    with pytest.raises(InvalidTime, match="happens twice"):
        to_utc(datetime(2026, 10, 25, 2, 30), "Europe/Paris")
    explicit = datetime.fromisoformat("2026-10-25T02:30:00+01:00")
    assert to_utc(explicit, "Europe/Paris") == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["Europe/Atlantis", "Europe", "x" * 300, "../../etc/passwd"])
def test_an_unknown_zone_is_refused(zone: str) -> None:
    with pytest.raises(InvalidTime, match="Unknown time zone"):
        to_utc(datetime(2026, 1, 1), zone)


@pytest.mark.e2e
def test_crud_over_http(embedded: Running) -> None:
    token = embedded.organization("evenements")
    other = embedded.organization("autrecommune")
    base = embedded.url("events") + "/api/v1/local-events"
    auth = {"Authorization": f"Bearer {token}"}
    created = httpx.post(
        base,
        json={
            "title": "Conseil municipal de décembre",
            "starts_at": "2026-12-15T20:00:00",
            "location": "Mairie",
        },
        headers=auth,
    )
    assert created.status_code == 201, created.text
    event = created.json()
    assert event["starts_at"] == "2026-12-15T19:00:00+00:00"
    assert event["starts_at_local"] == "2026-12-15T20:00:00+01:00"

    listed = httpx.get(base, params={"organization": "evenements"}).json()["items"]
    assert [e["id"] for e in listed] == [event["id"]]

    moved = httpx.patch(
        f"{base}/{event['id']}", json={"starts_at": "2027-01-12T18:30:00"}, headers=auth
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["starts_at"] == "2027-01-12T17:30:00+00:00"
    retitled = httpx.patch(
        f"{base}/{event['id']}", json={"title": "Conseil de janvier"}, headers=auth
    )
    assert retitled.json()["starts_at"] == "2027-01-12T17:30:00+00:00"

    foreign = httpx.delete(f"{base}/{event['id']}", headers={"Authorization": f"Bearer {other}"})
    assert foreign.status_code == 403
    assert (
        httpx.post(
            base, json={"title": "x", "starts_at": "2026-03-29T02:30:00"}, headers=auth
        ).status_code
        == 422
    )
    assert (
        httpx.post(base, json={"title": "x", "starts_at": "2026-12-01T10:00:00"}).status_code == 401
    )

    assert httpx.delete(f"{base}/{event['id']}", headers=auth).status_code == 204
    assert httpx.get(f"{base}/{event['id']}").status_code == 404
