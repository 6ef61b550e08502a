"""``swaplab sh``: scripts run through ``python -m swaplab sh`` as a user would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sh(tmp_path: Path, script: str, *options: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "script.sh"
    path.write_text(script)
    return subprocess.run(
        [sys.executable, "-m", "swaplab", "sh", *options, str(path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )


def test_a_script_runs_and_cat_prints_the_files(tmp_path: Path) -> None:
    r = sh(tmp_path, """\
# a comment, then a blank line

mkdir /G
echo 4095 > /G/memory.limit_in_bytes
cat /G/memory.limit_in_bytes
spawn A /G
A mmap m1 anon 3K    # one page
A touch m1
cat /G/memory.usage_in_bytes
expect /G/memory.stat rss 4K
A exit
ps
""", "--swap", "0")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[:2] == ["4096", "4096"]
    assert lines[2].split() == ["PID", "NAME", "STATE", "CGROUP"]
    assert lines[3].split()[1:] == ["A", "exited", "/G"]


def test_a_refused_echo_prints_the_errno_and_the_script_goes_on(tmp_path: Path) -> None:
    r = sh(tmp_path, """\
mkdir /G
echo 1xx > /G/memory.limit_in_bytes
echo 8K > /G/memory.limit_in_bytes
cat /G/memory.limit_in_bytes
rmdir /nosuch
""", "--swap", "0")
    assert r.returncode == 0
    assert r.stdout == "8192\n"
    assert r.stderr.splitlines() == [
        "swaplab: echo: write error: Invalid argument",
        "rmdir: failed to remove '/nosuch': No such file or directory",
    ]


def test_ebusy_message(tmp_path: Path) -> None:
    r = sh(tmp_path, "mkdir /G\nspawn A /G\necho 1 > /G/memory.force_empty\n", "--swap", "0")
    assert r.returncode == 0
    assert r.stderr == "swaplab: echo: write error: Device or resource busy\n"


def test_a_malformed_line_stops_with_its_number_and_exit_2(tmp_path: Path) -> None:
    r = sh(tmp_path, "mkdir /G\n\nfrobnicate /G\nmkdir /H\n", "--swap", "0")
    assert r.returncode == 2
    script = str(tmp_path / "script.sh")
    assert r.stderr.startswith(f"{script}:3: ")
    assert "frobnicate" in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1


def test_malformed_task_lines(tmp_path: Path) -> None:
    for line in ("spawn A /G\nA mmap m1 anon lots", "spawn A /G\nA touch nosuch",
                 "spawn A /G\nA mmap m1 shared 4K locked", "echo 1 > G/memory.failcnt",
                 "echo 'unclosed > /G/x", "spawn mkdir /G", "cat /G/tasks | wc"):
        r = sh(tmp_path, "mkdir /G\n" + line + "\n", "--swap", "0")
        assert r.returncode == 2, line
        assert "script.sh:" in r.stderr and "Traceback" not in r.stderr, line


def test_killed_tasks_are_reported_and_refuse_more(tmp_path: Path) -> None:
    r = sh(tmp_path, """\
mkdir /G
echo 4096 > /G/memory.limit_in_bytes
spawn A /G
A mmap m anon 8K
A touch m
expect A killed
expect /G/memory.failcnt 6
A touch m
""", "--swap", "0")
    assert r.returncode == 0, r.stderr
    assert "A: killed (pid" in r.stdout
    assert r.stderr == "swaplab: A: touch: no such process (killed)\n"


def test_a_failed_expectation_gives_exit_1(tmp_path: Path) -> None:
    r = sh(tmp_path, "mkdir /G\nexpect /G/memory.usage_in_bytes 4096\ncat /G/tasks\n",
           "--swap", "0")
    assert r.returncode == 1
    assert "script.sh:2: expected /G/memory.usage_in_bytes = 4096, got 0" in r.stderr


def test_bad_options_and_missing_file(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "swaplab", "sh", "--kernel", "2.4", "x"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "unknown kernel" in r.stderr
    r = subprocess.run([sys.executable, "-m", "swaplab", "sh", str(tmp_path / "none.sh")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "No such file or directory" in r.stderr


def test_stdin_script(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "swaplab", "sh", "--swap", "0"],
                       input="mkdir /G\ncat /G/memory.swappiness\n",
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, "60\n")


def test_the_shipped_example_passes() -> None:
    r = subprocess.run([sys.executable, "-m", "swaplab", "sh",
                        str(ROOT / "examples" / "ltp-basic.sh")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr


def test_threads_and_madvise(tmp_path: Path) -> None:
    r = sh(tmp_path, """\
mkdir /G
spawn A /G
A mmap m anon 64K
A thread T
T touch m
expect /G/memory.usage_in_bytes 64K
A madvise m dontneed
expect /G/memory.usage_in_bytes 0
T exit
A touch m
expect /G/memory.usage_in_bytes 64K
A exit
expect /G/memory.usage_in_bytes 0
""", "--swap", "0")
    assert r.returncode == 0, r.stdout + r.stderr
    bad = sh(tmp_path, "spawn A /\nA mmap m anon 4K\nA madvise m willneed\n", "--swap", "0")
    assert bad.returncode == 2 and "expected 'A madvise MAP dontneed'" in bad.stderr


def test_swapon_discard_and_a_malformed_swapon(tmp_path: Path) -> None:
    r = sh(tmp_path, "swapon --discard 2M\ncat /proc/meminfo\n", "--swap", "0")
    assert r.returncode == 0, r.stdout + r.stderr
    assert ["SwapTotal:", "2044", "kB"] in [line.split() for line in r.stdout.splitlines()]
    r = sh(tmp_path, "swapon --trim 2M\n", "--swap", "0")
    assert r.returncode == 2 and "expected 'swapon [--discard] SIZE'" in r.stderr
