#!/usr/bin/python3
"""Soak: steady load for a long time, resident memory over time, exact counts at the end.

  bench/soak.py BUILD_DIR [--minutes 30] [--sample-seconds 10] [--fraction 0.33]

Starts one nginx with the module (2 workers, a small static file), a real `pulse-sidecar
run` scraping it every second (the default flags) and a real `pulse-sidecar adapter` in
front of it, with the fake Kubernetes API of the integration tests holding one pod whose
sidecar is that one (bench/adapter_latency.py's set-up). Then:

  1. the machine's throughput for the static file: `wrk -t2 -c16 -d5s` against a server
     block of its own (so its requests are not in the soak's count);
  2. --fraction of it, held for --minutes by `ab -k -c 4 -n N` runs started every 0.2 s
     with N = rate x 0.2 (ab completes exactly N requests and says how many failed, so the
     count is exact; a slice that starts late is not caught up, the rate dips instead);
     meanwhile a client reads the sidecar's /metrics and the adapter's pods metric (the
     aggregator's request, one keep-alive TLS connection) every second;
  3. every --sample-seconds, VmRSS of each nginx worker, the sidecar and the adapter, one
     row of a table;
  4. the summary: for each process, the spread (max - min) / min of its VmRSS over the
     samples after the warm-up (the first 20% of the run), PASS within 2%; and the soak
     server's nginx_http_requests_total against the requests ab completed, PASS when equal.

The exit status is non-zero when a check fails (a spread over 2%, a count that differs,
a failed or non-2xx request, an adapter or sidecar answer that is not a 200, a worker
that died) or the benchmark cannot run. The module and the sidecar binary are copied into
the temporary folder first, so a rebuild during the run cannot touch the processes under
test. Everything listens on 127.0.0.1 on free ports; only processes started here are
stopped, by pid. Not part of `make test` nor of bench/run.sh: `--minutes 2` is a quick
check.
"""

import argparse
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapter_latency as al  # noqa: E402  (also puts tests/integration on sys.path)
import pulse_harness as ph  # noqa: E402
from expo import Exposition  # noqa: E402
from load_generators import ab_once  # noqa: E402

NGINX = """
    pulse_zone pulse 1m;
    server {
        listen 127.0.0.1:@@http@@;
        server_name soak;
        location = /metrics {
            pulse_exporter;
            pulse_metrics off;
            add_header X-Worker-Pid $pid;  # which worker rendered it: see warm_exporters()
        }
        location / { root @@dir@@/html; }
    }
    server {
        listen 127.0.0.1:@@calibrate@@;
        server_name calibrate;
        location / { root @@dir@@/html; }
    }
"""
PAGE = "index.html"
SLICE_SECONDS = 0.2  # one ab run per slice: short enough that each second is steady
RSS_SPREAD_LIMIT = 2.0  # percent
WARMUP_FRACTION = 0.2


def status_kib(pid, field):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def wrk_throughput(url, seconds=5):
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", url], capture_output=True,
                         text=True, timeout=seconds + 60).stdout
    m = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if not m or "Non-2xx" in out or "Socket errors" in out:
        sys.exit(f"soak: wrk did not measure cleanly:\n{out}")
    return float(m.group(1))


class AbLoad:
    """`ab -k -c 4 -n N` every SLICE_SECONDS: `rate` requests a second on average, and
    the exact number ab completed."""

    def __init__(self, url, rate):
        self.url = url
        self.per_slice = max(4, round(rate * SLICE_SECONDS))
        self.completed = 0
        self.late_slices = 0
        self.problems = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        next_slice = time.monotonic()
        while not self._stop.is_set():
            delay = next_slice - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
                if self._stop.is_set():
                    break
            elif delay < -SLICE_SECONDS:
                self.late_slices += 1
            next_slice = max(next_slice + SLICE_SECONDS, time.monotonic())
            try:
                counts = ab_once(self.url, self.per_slice, concurrency=4, keepalive=True)
            except ph.HarnessError as e:
                self.problems.append(str(e)[:300])
                continue
            self.completed += counts["complete"]
            if counts["failed"] or counts["non_2xx"]:
                self.problems.append(f"ab: {counts['failed']} failed, "
                                     f"{counts['non_2xx']} non-2xx")

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=180)


class Scrapes:
    """What Prometheus and the aggregator do every second: the sidecar's /metrics and the
    adapter's pods metric (one keep-alive TLS connection, as the aggregator keeps)."""

    def __init__(self, sidecar, adapter):
        self.sidecar = sidecar
        self.adapter = adapter
        self.count = 0
        self.problems = []
        self.last_adapter_value = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        conn = None
        next_at = time.monotonic()
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += 1.0
            status, _, body = self.sidecar.get("/metrics")
            if status != 200:
                self.problems.append(f"sidecar /metrics {status}")
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection(ph.LOOPBACK, self.adapter.port, timeout=30,
                                                       context=self.adapter.ssl_context())
                conn.request("GET", al.PATH)
                r = conn.getresponse()
                body = r.read()
                items = json.loads(body)["items"] if r.status == 200 else []
                if r.status != 200 or len(items) != 1:
                    self.problems.append(f"adapter {r.status} {body[:200]!r}")
                else:
                    self.last_adapter_value = items[0]["value"]
            except (OSError, http.client.HTTPException, ValueError) as e:
                self.problems.append(f"adapter: {e!r}")
                conn = None
            self.count += 1
        if conn is not None:
            conn.close()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=60)


def requests_counted(ng, server):
    m = Exposition(ph.http_get(ng.url("http", "/metrics"))[2])
    return int(sum(v for labels, v in m.series("nginx_http_requests_total")
                   if labels.get("server") == server))


def warm_exporters(ng):
    """Has every worker render /metrics once before memory is sampled. The sidecar keeps one
    connection to the exporter, so one worker renders every scrape until nginx closes that
    connection after keepalive_requests (1,000: about 17 minutes at one scrape a second);
    the other worker then renders for the first time, and its resident memory steps up by
    the exporter's code pages and buffers (+420 KiB, 8.7%, seen in a 30-minute run). That
    is warm-up, not growth: done here, on fresh connections, until each worker answered."""
    workers = set(ng.worker_pids())
    seen = set()
    for _ in range(500):
        status, headers, _ = ph.http_get(ng.url("http", "/metrics"))
        if status != 200:
            sys.exit(f"soak: /metrics answered {status}")
        seen.add(int(headers.first("x-worker-pid", "0")))
        if workers <= seen:
            return
    sys.exit(f"soak: 500 fresh connections to /metrics reached workers {sorted(seen)} only, "
             f"not all of {sorted(workers)}")


def copy_binaries(build, work):
    """The module and the sidecar as they are now, in the work folder: a rebuild of BUILD_DIR
    during a 30-minute run would rewrite them under running processes."""
    module = work / "ngx_http_pulse_module.so"
    sidecar = work / "pulse-sidecar"
    shutil.copy2(build / "ngx_http_pulse_module.so", module)
    shutil.copy2(build / "pulse-sidecar", sidecar)
    os.chmod(work, 0o755)
    os.environ["PULSE_MODULE"] = str(module)
    os.environ["PULSE_SIDECAR_BIN"] = str(sidecar)
    for path in (module, sidecar):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"  {path.name}: sha256 {digest}... (copied from {build})")


def per_second(quantity):
    """The adapter's value, a Kubernetes quantity ("6142310m"), as a float."""
    if quantity is None:
        return None
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def spread_percent(values):
    return (max(values) - min(values)) / min(values) * 100


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--sample-seconds", type=float, default=10)
    ap.add_argument("--fraction", type=float, default=1 / 3)
    args = ap.parse_args()
    build = Path(args.build).resolve()
    os.environ["PULSE_BUILD_DIR"] = str(build)
    duration = args.minutes * 60

    work = Path(tempfile.mkdtemp(prefix="pulse-bench-soak-"))
    started = []
    failures = []
    load = scrapes = None
    try:
        print(f"soak: {args.minutes:g} min on {os.cpu_count()} CPUs, load average at start "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (a shared machine: other "
              f"jobs run beside it)")
        copy_binaries(build, work)
        ng = ph.Nginx(work / "nginx", NGINX, workers=2)
        ng.write_file(f"html/{PAGE}", "<!doctype html><title>soak</title>" + "x" * 512 + "\n")
        started.append(ng)
        ng.start()

        capacity = wrk_throughput(ng.url("calibrate", f"/{PAGE}"))
        rate = capacity * args.fraction
        print(f"  throughput (wrk -t2 -c16 -d5s, static {PAGE}): {capacity:.0f} requests/s;"
              f" soak rate {rate:.0f}/s ({args.fraction:.2f} of it)")

        warm_exporters(ng)
        adapter, kube = al.start_adapter(ng, work, 1, 1, started)
        sidecar = next(p for p in started if isinstance(p, ph.Sidecar))
        processes = {f"worker{i}": pid for i, pid in enumerate(ng.worker_pids())}
        processes["sidecar"] = sidecar.proc.pid
        processes["adapter"] = adapter.proc.pid
        print(f"  processes: {processes}")

        load = AbLoad(ng.url("http", f"/{PAGE}"), rate).start()
        scrapes = Scrapes(sidecar, adapter).start()
        began = time.monotonic()
        samples = []  # (seconds since start, {name: kib})
        names = list(processes)
        print("\n" + f"{'t (s)':>7} {'ab req/s':>8} {'adapter':>8} " +
              " ".join(f"{n + ' KiB':>13}" for n in names))
        last_completed, last_t = 0, began
        while True:
            elapsed = time.monotonic() - began
            if elapsed >= duration:
                break
            time.sleep(min(args.sample_seconds, duration - elapsed))
            now = time.monotonic()
            rss = {n: status_kib(pid, "VmRSS") for n, pid in processes.items()}
            # The heap's share, beside: VmRSS also holds pages of the binary and libraries,
            # which come in as code paths first run and go when the kernel reclaims them
            # for other jobs; a leak shows in RssAnon.
            anon = {n: status_kib(pid, "RssAnon") for n, pid in processes.items()}
            if None in rss.values():
                failures.append(f"process gone: {[n for n, v in rss.items() if v is None]}")
                break
            if set(ng.worker_pids()) != {processes[n] for n in names if n.startswith("worker")}:
                failures.append(f"nginx workers changed: {ng.worker_pids()}")
                break
            done = load.completed
            rps = (done - last_completed) / (now - last_t)
            last_completed, last_t = done, now
            samples.append((now - began, rss, anon))
            adapter_rate = per_second(scrapes.last_adapter_value)
            print(f"{now - began:7.0f} {rps:8.0f} "
                  f"{'-' if adapter_rate is None else f'{adapter_rate:.0f}':>8} " +
                  " ".join(f"{rss[n]:13d}" for n in names), flush=True)

        load.stop()
        scrapes.stop()
        soak_seconds = time.monotonic() - began
        failures += load.problems[:10] + scrapes.problems[:10]
        try:
            # A request is counted in its log phase, just after its answer went out.
            ph.wait_for(lambda: requests_counted(ng, "soak") == load.completed, timeout=15,
                        message="nginx's count to reach ab's")
        except ph.HarnessError:
            pass  # the difference is reported below
        counted = requests_counted(ng, "soak")
        signals = sidecar.signals()
        kube.stop()

        print(f"\nload: {load.completed} requests completed by ab in {soak_seconds:.0f}s "
              f"= {load.completed / soak_seconds:.0f}/s (target {rate:.0f}/s), "
              f"{load.late_slices} late slices; {scrapes.count} seconds with a sidecar "
              f"/metrics read and an adapter query; sidecar's last rate "
              f"{signals['pod']['pulse_requests_per_second']:.0f}/s")
        print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        warm = [(rss, anon) for t, rss, anon in samples if t >= WARMUP_FRACTION * duration]
        print(f"\nresident memory after the warm-up (first {WARMUP_FRACTION:.0%}), "
              f"{len(warm)} samples:")
        if len(warm) < 2:
            failures.append("fewer than two samples after the warm-up: run longer")
        else:
            for n in names:
                values = [rss[n] for rss, _ in warm]
                anons = [anon[n] for _, anon in warm]
                spread = spread_percent(values)
                verdict = "PASS" if spread <= RSS_SPREAD_LIMIT else "FAIL"
                print(f"  {n:<10} min {min(values):8d} KiB  max {max(values):8d} KiB  "
                      f"spread {spread:5.2f}%  (first sample {samples[0][1][n]} KiB)  {verdict}"
                      f"   RssAnon {min(anons)}-{max(anons)} KiB")
                if verdict == "FAIL":
                    failures.append(f"{n}: resident memory spread {spread:.2f}% "
                                    f"> {RSS_SPREAD_LIMIT}%")
        verdict = "PASS" if counted == load.completed else "FAIL"
        print(f"\ncounts: nginx_http_requests_total{{server=\"soak\"}} {counted}, ab completed "
              f"{load.completed}  {verdict}")
        if verdict == "FAIL":
            failures.append(f"nginx counted {counted}, ab completed {load.completed}")
        crashed = ng.crashed_workers()
        if crashed:
            failures.append(f"nginx workers crashed: {crashed}")
    finally:
        if load is not None:
            load.stop()
        if scrapes is not None:
            scrapes.stop()
        for p in reversed(started):
            p.stop()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("\nall checks passed")


if __name__ == "__main__":
    main()
