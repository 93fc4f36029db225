#!/usr/bin/python3
"""pulse-sidecar's footprint and reaction, against nginx with ~4,096 series.

  sidecar_footprint.py --port PORT --host HOST --locations N --sidecar BIN --parse-bench BIN

nginx (started by run.sh with the render configuration) first gets N locations x 5 kinds
of request (see render_time.py), then:
  1. parse throughput: the exposition is captured and parsed repeatedly (C++ bench);
  2. footprint: pulse-sidecar scrapes it every second for MEASURE seconds; its resident
     memory (VmRSS) and CPU seconds (utime + stime from /proc) are read, and CPU is
     given per minute (targets: under 16 MB, under 0.6 CPU-seconds a minute);
  3. reaction: with the default 30 s window, a step from idle to a steady paced load;
     the seconds until pulse_requests_per_second crosses half the new rate.
Figures only: nothing here passes or fails on speed.
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render_time  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return cpu, rss


def signals(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/signals")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def wait_ready(port, deadline=30):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("sidecar never became ready")


def paced_load(port, host, rate, stop):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    start, n = time.monotonic(), 0
    while not stop.is_set():
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        conn.request("GET", "/s0000/", headers={"Host": host})
        conn.getresponse().read()
        n += 1
    conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="bench.local")
    ap.add_argument("--locations", type=int, default=512)
    ap.add_argument("--sidecar", required=True)
    ap.add_argument("--parse-bench", required=True)
    ap.add_argument("--measure", type=float, default=float(os.environ.get("BENCH_SIDECAR_SECONDS", 20)))
    ap.add_argument("--rate", type=float, default=100)
    a = ap.parse_args()

    render_time.fill(a.port, a.host, a.locations)
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    body = render_time.scrape(conn, a.host)
    conn.close()
    with tempfile.NamedTemporaryFile(suffix=".prom", delete=False) as f:
        f.write(body)
        exposition = f.name
    subprocess.run([a.parse_bench, exposition, "200"], check=True)
    os.unlink(exposition)

    sport = free_port()
    proc = subprocess.Popen([a.sidecar, "run", "--scrape", f"http://127.0.0.1:{a.port}/metrics",
                             "--listen", f"127.0.0.1:{sport}", "--interval", "1s"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(sport)
        time.sleep(2)  # let the window fill a little
        cpu0, _ = proc_stat(proc.pid)
        t0 = time.monotonic()
        time.sleep(a.measure)
        cpu1, rss = proc_stat(proc.pid)
        per_minute = (cpu1 - cpu0) / (time.monotonic() - t0) * 60
        print(f"  footprint at a 1 s interval over {a.measure:.0f} s against {len(body):,} bytes a scrape:")
        print(f"    resident memory {rss / 1e6:.1f} MB (target under 16 MB)"
              f"{'' if rss < 16e6 else '  OVER TARGET'}")
        print(f"    CPU {per_minute:.2f} CPU-seconds a minute (target under 0.6)"
              f"{'' if per_minute < 0.6 else '  OVER TARGET'}")

        # Reaction to a step, with the default 30 s window.
        stop = threading.Event()
        base = signals(sport)["pod"]["pulse_requests_per_second"]
        load = threading.Thread(target=paced_load, args=(a.port, a.host, a.rate, stop))
        step = time.monotonic()
        load.start()
        crossed = None
        try:
            while time.monotonic() - step < 60:
                if signals(sport)["pod"]["pulse_requests_per_second"] >= base + a.rate / 2:
                    crossed = time.monotonic() - step
                    break
                time.sleep(0.1)
        finally:
            stop.set()
            load.join()
        if crossed is None:
            print(f"  reaction: pulse_requests_per_second did not reach half of a {a.rate:.0f} req/s step in 60 s")
        else:
            print(f"  reaction: a step from idle to {a.rate:.0f} req/s crossed half-way after {crossed:.1f} s"
                  f" (30 s window: a linear ramp crosses half-way at about 15 s;"
                  f" --window 10s would react in about 5 s)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
