"""bench.quiet: the next epoch waits until other workers' threads stop spinning."""

import subprocess
import sys
import time

from scratchbench.bench.quiet import cpu_ns, wait_quiet

SPIN = """
import sys, time
deadline = time.monotonic() + float(sys.argv[1])
print("spinning", flush=True)
while time.monotonic() < deadline:
    pass
time.sleep(60)
"""


def _spinner(seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SPIN, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "spinning"
    return proc


def test_waits_until_a_spinning_process_goes_quiet():
    proc = _spinner(0.5)
    try:
        t0 = time.monotonic()
        res = wait_quiet([proc.pid], window=0.1, timeout=10)  # 0.1 s: robust to a loaded CI machine
        assert res["timed_out"] == 0
        assert time.monotonic() - t0 >= 0.4  # it did not return while the child still spun
        used, _ = cpu_ns([proc.pid])
        assert used >= 0.3e9
    finally:
        proc.kill()
        proc.wait()


def test_gives_up_after_the_timeout_and_says_so():
    proc = _spinner(30)
    try:
        res = wait_quiet([proc.pid], timeout=0.3)
        assert res["timed_out"] == 1 and 0.3 <= res["seconds"] < 5
    finally:
        proc.kill()
        proc.wait()


def test_a_quiet_or_vanished_process_returns_after_one_window():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.5)  # past its start-up
        res = wait_quiet([proc.pid, 2**22 + 12345], window=0.02)
        assert res["timed_out"] == 0 and res["seconds"] < 0.5
    finally:
        proc.kill()
        proc.wait()
