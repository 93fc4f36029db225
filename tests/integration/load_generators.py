"""Load on loopback for the reliability tests, from real load generators.

AbLoop runs Apache's `ab` over and over against one URL until stopped and adds up what
each run reports. `ab -n N` sends exactly N requests and says how many completed, failed
or were not 2xx, so the sum is an exact count to hold nginx's counters against (wrk's
count leaves out the requests in flight when its time is up).

WrkLoad runs `wrk` for a fixed time where only volume matters (it keeps going when a
connection dies under it, as it does when a worker is killed).
"""

import re
import shutil
import subprocess
import threading

import pulse_harness as ph

_AB_FIELDS = {
    "complete": re.compile(r"^Complete requests:\s+(\d+)", re.M),
    "failed": re.compile(r"^Failed requests:\s+(\d+)", re.M),
    "non_2xx": re.compile(r"^Non-2xx responses:\s+(\d+)", re.M),
}


def _tool(name):
    path = shutil.which(name)
    if path is None:
        raise ph.HarnessError(f"{name} not found (Debian: scripts/install-deps.sh installs it)")
    return path


def ab_once(url, requests, concurrency=2, keepalive=False):
    """One `ab` run: {"complete", "failed", "non_2xx"}; raises if ab itself failed."""
    cmd = [_tool("ab"), "-q", "-n", str(requests), "-c", str(concurrency)]
    if keepalive:
        cmd.append("-k")
    out = subprocess.run(cmd + [url], capture_output=True, text=True)
    if out.returncode != 0:
        raise ph.HarnessError(f"ab {url} exited with {out.returncode}:\n{out.stdout}\n{out.stderr}")
    counts = {}
    for key, pattern in _AB_FIELDS.items():
        m = pattern.search(out.stdout)
        counts[key] = int(m.group(1)) if m else 0
    if not _AB_FIELDS["complete"].search(out.stdout):
        raise ph.HarnessError(f"ab {url}: no count in its report:\n{out.stdout}")
    return counts


class AbLoop:
    """`ab -n batch` against url, run after run, until stop(); .totals adds them up."""

    def __init__(self, url, batch=500, concurrency=2):
        self.url = url
        self.batch = batch
        self.concurrency = concurrency
        self.totals = {"complete": 0, "failed": 0, "non_2xx": 0, "runs": 0}
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            while not self._stop.is_set():
                counts = ab_once(self.url, self.batch, self.concurrency)
                for key, value in counts.items():
                    self.totals[key] += value
                self.totals["runs"] += 1
        except Exception as e:  # reported by stop(): a dead generator is a failed test
            self.error = e

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        """Let the run under way finish (its requests all answered), then return totals."""
        self._stop.set()
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.totals


class WrkLoad:
    """`wrk` against url for `seconds`, in the background; wait() returns its report."""

    def __init__(self, url, seconds, connections=4, threads=1):
        self.proc = subprocess.Popen(
            [_tool("wrk"), "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait(self):
        out, _ = self.proc.communicate()
        if self.proc.returncode != 0:
            raise ph.HarnessError(f"wrk exited with {self.proc.returncode}:\n{out}")
        m = re.search(r"(\d+) requests in", out)
        return {"requests": int(m.group(1)) if m else 0, "report": out}
