#!/usr/bin/python3
"""Render time of the module's exposition with ~4,096 series.

  render_time.py --port PORT --host HOST --locations N [--scrapes 50]

nginx is configured (by run.sh) with N locations /sNNNN/ that answer 200, or 404 for
?s=404, and an exporter at /metrics that is not counted itself. Each location gets five
kinds of request (GET 2xx, GET 4xx, POST 2xx, HEAD 2xx, PUT 2xx): five
nginx_http_requests_total series, one duration histogram and two byte counters, so eight
series a location. All on one keep-alive connection, then the scrapes on another.
"""

import argparse
import http.client
import re
import statistics
import sys
import time

KINDS = [("GET", ""), ("GET", "?s=404"), ("POST", ""), ("HEAD", ""), ("PUT", "")]


def fill(port, host, locations):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sent = 0
    for i in range(locations):
        for method, query in KINDS:
            headers = {"Host": host}
            body = b"" if method in ("POST", "PUT") else None
            conn.request(method, f"/s{i:04d}/{query}", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            want = 404 if query else 200
            if resp.status != want:
                sys.exit(f"render: {method} /s{i:04d}/{query} answered {resp.status}, not {want}")
            sent += 1
    conn.close()
    return sent


def scrape(conn, host):
    conn.request("GET", "/metrics", headers={"Host": host, "Accept": "text/plain"})
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        sys.exit(f"render: /metrics answered {resp.status}")
    return body


def percentile(values, q):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="bench.local")
    ap.add_argument("--locations", type=int, required=True)
    ap.add_argument("--scrapes", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()

    t0 = time.perf_counter()
    sent = fill(args.port, args.host, args.locations)
    fill_s = time.perf_counter() - t0

    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
    for _ in range(args.warmup):
        body = scrape(conn, args.host)
    times = []
    for _ in range(args.scrapes):
        t = time.perf_counter()
        body = scrape(conn, args.host)
        times.append((time.perf_counter() - t) * 1000.0)
    conn.close()

    text = body.decode("utf-8", errors="replace")
    m = re.search(r"^nginx_pulse_series(?:\{\})? (\S+)$", text, re.M)
    series = m.group(1) if m else "?"
    m = re.search(r"^nginx_pulse_series_dropped_total(?:\{\})? (\S+)$", text, re.M)
    dropped = m.group(1) if m else "?"
    samples = sum(1 for line in text.splitlines() if line and not line.startswith("#"))

    print(f"  filled {args.locations} locations with {sent} requests in {fill_s:.2f} s")
    print(f"  nginx_pulse_series:              {series}  (dropped: {dropped})")
    print(f"  exposition size:                 {len(body):,} bytes, {samples:,} sample lines")
    print(f"  scrapes timed:                   {args.scrapes} (after {args.warmup} warm-up), "
          "one keep-alive connection")
    print(f"  render + transfer per scrape:    median {statistics.median(times):.2f} ms, "
          f"p95 {percentile(times, 95):.2f} ms, min {min(times):.2f} ms, max {max(times):.2f} ms")


if __name__ == "__main__":
    main()
