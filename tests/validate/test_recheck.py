"""The repair proposal's « after » comes from the original's findings and the changed rows checked
again alone, and says exactly what a check of the whole repaired file says: same findings (row
numbers and messages included), same summary, same message — for every shipped schema, UTF-8
and Windows-1252, with ragged rows, a line break in a changed cell, a row that the repair
leaves blank, and empty rows removed from the end."""

import copy
import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datacommune.validate.checks import repairs
from datacommune.validate.columnar import reader
from datacommune.validate.registry import BUILTIN, Registry, load_entry
from datacommune.validate.reports import recheck
from datacommune.validate.reports import report as reports
from tests.validate.differential import generate

REGISTRY = Registry.from_dirs([BUILTIN])
ROWS = int(os.environ.get("DATACOMMUNE_DIFFERENTIAL_ROWS", "1500")) // 3


def _keyed(descriptor: dict[str, Any]) -> bool:
    return bool(descriptor.get("primaryKey")) or any(
        (f.get("constraints") or {}).get("unique") for f in descriptor.get("fields", [])
    )


def _with_odd_rows(descriptor: dict[str, Any], path: Path) -> None:
    """Rows the repair treats apart: padding around a line break, a row of spaces, then empty
    rows at the end."""
    width = len(descriptor.get("fields", []))
    with path.open("a", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["  deux\nlignes  "] + ["  x "] * (width - 1))
        writer.writerow([" "] * width)
        writer.writerow(["x"] * width)
        writer.writerow([""] * width)
        out.write("\n")


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "BLOCK_BYTES", 32 * 1024)


@pytest.mark.usefixtures("small_batches")
@pytest.mark.parametrize("dialect", ["utf-8,", "cp1252;"])
@pytest.mark.parametrize("entry", REGISTRY.all(), ids=lambda e: e.id)
def test_the_repaired_file_s_findings_are_found_from_its_changed_rows(
    entry, dialect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated = tmp_path / "generated.csv"
    generate(entry.descriptor, ROWS, seed=31, path=generated)
    _with_odd_rows(entry.descriptor, generated)
    encoding, delimiter = dialect[:-1], dialect[-1]
    path = tmp_path / "upload" / "file.csv"
    path.parent.mkdir()
    with (
        generated.open(encoding="utf-8", newline="") as src,
        path.open("w", encoding=encoding, errors="replace", newline="") as out,
    ):
        csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(csv.reader(src))

    composed: list[list[dict[str, Any]]] = []
    merged = recheck.merged

    def keeping(*args: Any) -> Iterator[list[dict[str, Any]]]:
        for found in merged(*args):
            composed.append(copy.deepcopy(found))
            yield found

    monkeypatch.setattr(recheck, "merged", keeping)
    report, _ = reports.check_with_repair(path, schema=entry)
    after = report["repair"]["after"]

    whole = tmp_path / "whole" / "file.csv"
    whole.parent.mkdir()
    whole.write_bytes(path.with_name("repaired-file.csv").read_bytes())
    expected: list[list[dict[str, Any]]] = []
    checked = reports.check(
        whole, schema=entry, record=lambda found: expected.append(copy.deepcopy(found))
    )
    assert after["summary"] == checked["summary"]
    assert after["message"] == checked["message"]
    if _keyed(entry.descriptor):
        assert after["checked"]["how"] == "whole-file"
        assert "unique" in after["checked"]["reason"]
        return
    assert after["checked"]["how"] == "changed-rows"
    assert ROWS // 10 < after["checked"]["rows"] < ROWS
    flat = [f for found in composed for f in found]
    assert flat == [f for found in expected for f in found]
    # The changed rows had findings of their own, and some rows lost theirs.
    assert report["summary"] != after["summary"]


def test_without_a_schema_the_whole_repaired_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    path.write_text("a;b\n 1;x \n2;y\n", encoding="utf-8")
    report, _ = reports.check_with_repair(path, schema=None)
    assert report["repair"]["after"]["checked"] == {
        "how": "whole-file",
        "reason": "no schema: the columns' types are inferred from the whole file",
    }
    assert report["repair"]["after"]["summary"]["rows"] == 2


SMALL = load_entry(
    "petit",
    {"fields": [{"name": "a", "type": "integer"}, {"name": "b", "type": "string"}]},
)


@pytest.mark.parametrize(
    "data",
    [
        b'a,b\n1,"x\ry"\n 2,z\n',  # a CR in a cell of a row copied as read
        b'a,b\n1,x\n 2,"z\rw"\n3,"q\r"\n',  # in a changed row, and ending a cell
        # Empty rows removed from the rows frictionless samples to find the header row.
        b"a,b\n 1,x\n2,y,3,4,5\n2,y,3,4,5\n\n\n\n\n\n\n",
    ],
    ids=["cr-copied", "cr-changed", "sampled-empty-rows"],
)
def test_what_the_repaired_file_says_read_again(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "upload" / "file.csv"
    path.parent.mkdir()
    path.write_bytes(data)
    report, _ = reports.check_with_repair(path, schema=SMALL)
    repaired = path.with_name("repaired-file.csv")
    whole = tmp_path / "whole" / "file.csv"
    whole.parent.mkdir()
    whole.write_bytes(repaired.read_bytes())
    checked = reports.check(whole, schema=SMALL)
    after = report["repair"]["after"]
    assert (after["summary"], after["message"]) == (checked["summary"], checked["message"])
    # Every value is the one read, its CR kept (the writer quotes a cell that holds one).
    with repaired.open(encoding="utf-8", newline="") as src:
        values = {cell for row in csv.reader(src) for cell in row}
    with path.open(encoding="utf-8", newline="") as src:
        originals = {cell.strip(repairs.PADDING) for row in csv.reader(src) for cell in row}
    assert values == originals


def test_past_the_findings_it_records_the_repaired_file_is_checked_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recheck, "MAX_RECORDED", 10)
    path = tmp_path / "file.csv"
    path.write_text("a,b\n" + "".join(f" {i},x\nnon,y\n" for i in range(20)), encoding="utf-8")
    report, _ = reports.check_with_repair(path, schema=SMALL)
    after = report["repair"]["after"]
    assert after["checked"] == {"how": "whole-file", "reason": "over 10 findings in the original"}
    assert after["summary"]["errors"] == 20  # the « non », the padded numbers repaired
    assert path.with_name("findings-file.jsonl").stat().st_size == 0
