"""What a killed process left in a scratch folder is swept; what a live one holds stays."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from datacommune.shared.process import scratch

LEAVE_BEHIND = """
import sys, time
from pathlib import Path
from datacommune.shared.process import scratch
parent = Path(sys.argv[1])
held = scratch.held_dir(parent, prefix="work-")
folder = held.__enter__()
(folder / "half.csv").write_text("a,b")
path, out = scratch.held_file(parent, prefix="upload-")
out.write(b"half an upload")
out.flush()
print("ready", flush=True)
time.sleep(60)
"""


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_killed_process_leftovers_go_and_live_ones_stay(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", LEAVE_BEHIND, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    # While it lives, even old entries stay.
    for entry in tmp_path.iterdir():
        age(entry, 3600)
    assert scratch.sweep(tmp_path, prefix="work-") + scratch.sweep(tmp_path, prefix="upload-") == 0
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()

    with scratch.held_dir(tmp_path, prefix="work-") as mine:
        age(mine, 3600)
        young = tmp_path / "upload-young"
        young.write_text("just made, not locked yet")
        assert scratch.sweep(tmp_path, prefix="work-") == 1
        assert scratch.sweep(tmp_path, prefix="upload-") == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, young.name])
    assert [p.name for p in tmp_path.iterdir()] == [young.name]
