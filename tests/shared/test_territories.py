"""A territory is an organization and all below it; background loops sleep until due."""

from datetime import timedelta

from datacommune.shared import territories
from datacommune.shared.outbox import utcnow
from datacommune.shared.process import background

PARENTS = {
    "haute-garonne": None,
    "sicoval": "haute-garonne",
    "roques": "sicoval",
    "labege": "sicoval",
    "toulouse": "haute-garonne",
    "gers": None,
}


def test_a_territory_holds_everything_below_it() -> None:
    assert territories.members(PARENTS, "sicoval") == {"sicoval", "roques", "labege"}
    assert territories.members(PARENTS, "haute-garonne") == set(PARENTS) - {"gers"}
    assert territories.members(PARENTS, "roques") == {"roques"}
    assert territories.members(PARENTS, "inconnue") == {"inconnue"}


def test_sleep_until_due_but_never_past_the_poll() -> None:
    assert background.until(None, 1.0) == 1.0
    assert background.until(utcnow() - timedelta(seconds=5), 1.0) == 0.0
    assert background.until(utcnow() + timedelta(hours=1), 1.0) == 1.0
    assert 0.2 < background.until(utcnow() + timedelta(seconds=0.5), 1.0) <= 0.5
