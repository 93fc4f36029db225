#!/usr/bin/python3
"""Latency of the adapter's pods request, and its resident memory.

  bench/adapter_latency.py [BUILD_DIR] [--pods 20] [--sidecars 4] [--requests 300]

Starts one nginx with the module (BUILD_DIR/ngx_http_pulse_module.so), --sidecars real
`pulse-sidecar run` processes scraping it, the fake Kubernetes API of the integration tests
(tests/integration/fake_kube_api.py, HTTPS) with --pods Running pods spread over those
sidecars through the port annotation, and `pulse-sidecar adapter`. Then it times

  GET /apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/pulse_requests_per_second
      ?labelSelector=app%3Dbench

from a Python client with the front-proxy client certificate: --requests on one keep-alive
connection (the aggregator's way), and 50 on a fresh TLS connection each. Each answer
must hold one item per pod, or the benchmark stops with exit status 1. Prints p50, p90,
p99 and max, and the adapter's VmRSS and VmHWM from /proc. Figures only: nothing passes
or fails on time. Everything listens on 127.0.0.1; only processes started here are
stopped, by pid.
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import pulse_harness as ph  # noqa: E402
from certs import make_certs  # noqa: E402
from fake_kube_api import AdapterProcess, FakeKubeApi  # noqa: E402

NGINX = """
    pulse_zone pulse 1m;
    server {
        listen 127.0.0.1:@@http@@;
        server_name bench;
        location = /metrics { pulse_exporter; pulse_metrics off; }
        location / { return 200 "ok"; }
    }
"""
PATH = ("/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/pulse_requests_per_second"
        "?labelSelector=app%3Dbench")


def percentile(values, q):
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def proc_status(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return "?"


def traffic(url, stop):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    while not stop.is_set():
        conn.request("GET", "/")
        conn.getresponse().read()
        stop.wait(0.02)
    conn.close()


def check(status, body, pods):
    if status != 200:
        sys.exit(f"bench: the adapter answered {status}: {body[:300]!r}")
    n = len(json.loads(body)["items"])
    if n != pods:
        sys.exit(f"bench: the adapter answered {n} items, not {pods}")


def report(label, seconds):
    ms = [s * 1000 for s in seconds]
    print(f"  {label:<38} n={len(ms):<4} p50 {percentile(ms, 0.5):6.2f} ms   p90 {percentile(ms, 0.9):6.2f} ms"
          f"   p99 {percentile(ms, 0.99):6.2f} ms   max {max(ms):6.2f} ms   (mean {statistics.mean(ms):.2f})")


def start_adapter(ng, work, n_sidecars, n_pods, started):
    """`n_sidecars` real sidecars scraping nginx `ng`, the fake Kubernetes API with `n_pods`
    Running pods labelled app=bench spread over them, and the adapter, ready. Every process
    is appended to `started` (the caller stops them); returns (adapter, fake API)."""
    sidecars = []
    for i in range(n_sidecars):
        sc = ph.Sidecar(ng.url("http", "/metrics"), base=work / f"sidecar{i}")
        started.append(sc)
        sidecars.append(sc.start())
    for sc in sidecars:
        ph.wait_for(lambda: sc.get("/readyz")[0] == 200, message="sidecar ready")
    certs = make_certs(work / "certs")
    kube = FakeKubeApi(certs.server_cert, certs.server_key).start()
    for i in range(n_pods):
        kube.add_pod(f"bench-{i:02d}", labels={"app": "bench"},
                     sidecar_port=sidecars[i % len(sidecars)].port)
    adapter = AdapterProcess(certs, kube, dir=work / "adapter")
    started.append(adapter)
    adapter.start()
    ph.wait_for(lambda: adapter.request("/readyz", cert=False)[0] == 200, message="adapter ready")
    return adapter, kube


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=str(REPO / "build"))
    ap.add_argument("--pods", type=int, default=20)
    ap.add_argument("--sidecars", type=int, default=4)
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()
    os.environ["PULSE_BUILD_DIR"] = str(Path(args.build).resolve())

    work = Path(tempfile.mkdtemp(prefix="pulse-bench-adapter-"))
    stop = threading.Event()
    started = []
    try:
        ng = ph.Nginx(work / "nginx", NGINX)
        started.append(ng)
        ng.start()
        t = threading.Thread(target=traffic, args=(ng.url("http", "/"), stop), daemon=True)
        t.start()
        adapter, kube = start_adapter(ng, work, args.sidecars, args.pods, started)

        print(f"pulse-sidecar adapter: {args.pods} pods over {args.sidecars} real sidecars "
              f"(one nginx), fake Kubernetes API over HTTPS, all on loopback")
        print(f"  GET {PATH}")
        conn = http.client.HTTPSConnection(ph.LOOPBACK, adapter.port, timeout=30,
                                           context=adapter.ssl_context())
        for _ in range(20):  # warm-up
            conn.request("GET", PATH)
            r = conn.getresponse()
            check(r.status, r.read(), args.pods)
        keepalive = []
        for _ in range(args.requests):
            t0 = time.perf_counter()
            conn.request("GET", PATH)
            r = conn.getresponse()
            body = r.read()
            keepalive.append(time.perf_counter() - t0)
            check(r.status, body, args.pods)
        conn.close()
        fresh = []
        for _ in range(50):
            t0 = time.perf_counter()
            status, _, body = adapter.request(PATH)
            fresh.append(time.perf_counter() - t0)
            check(status, body, args.pods)
        report("keep-alive connection", keepalive)
        report("new TLS connection per request", fresh)
        pid = adapter.proc.pid
        print(f"  adapter memory: VmRSS {proc_status(pid, 'VmRSS')}, peak VmHWM {proc_status(pid, 'VmHWM')}"
              f" (after {args.requests + 70} requests)")
        kube.stop()
    finally:
        stop.set()
        for p in reversed(started):
            p.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
