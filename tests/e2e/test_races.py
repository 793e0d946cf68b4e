"""First uploads racing each other to a new dataset: each gets a clear answer, never a 500."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.platform import Running, csv_rows

pytestmark = pytest.mark.e2e

ROUNDS, AT_ONCE = 4, 8


def test_concurrent_first_uploads_to_a_new_dataset(platform: Running) -> None:
    mine = platform.organization("course-a")
    theirs = platform.organization("course-b")
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        for round_ in range(ROUNDS):
            slug = f"course-{round_}"
            # Half the requests from the organization that may win, half from another, all
            # different bytes, all at once.
            tokens = [mine if i % 2 == 0 else theirs for i in range(AT_ONCE)]
            answers = list(
                pool.map(
                    lambda i, token, slug=slug: platform.upload(
                        token, csv_rows(3, f"{slug}-{i}"), dataset=slug
                    ),
                    range(AT_ONCE),
                    tokens,
                )
            )
            codes = [a.status_code for a in answers]
            assert 500 not in codes, [a.text for a in answers if a.status_code >= 500]
            winners = {tokens[i] for i, code in enumerate(codes) if code == 202}
            assert len(winners) == 1, codes
            losers = [c for i, c in enumerate(codes) if tokens[i] not in winners]
            assert losers == [409] * (AT_ONCE // 2), codes
            # Each accepted file goes all the way.
            winner = winners.pop()
            for answer in answers:
                if answer.status_code == 202:
                    platform.wait_status(winner, answer.json()["id"], {"published"}, timeout=60)
