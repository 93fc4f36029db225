#!/usr/bin/python3
"""What config signals cost (docs/workers.md): PromQL evaluation and a sidecar's footprint.

  bench/workers.py BUILD_DIR

BUILD_DIR holds promql_eval and pulse-sidecar.

  1. corpus evaluation cost: the expressions of the PromQL differential corpus
     (tests/integration/promql_corpus.py) at each of their times, over its sample data,
     through BUILD_DIR/promql_eval (pulse's parser and evaluator, as
     test_promql_differential.py runs them): once, and REPEATS times over; the cost of one
     pass is the difference divided by REPEATS - 1, so process start and loading the
     samples cancel. It includes parsing each expression and printing its answer as JSON:
     an upper bound of what evaluating it after a scrape costs.
  2. a sidecar with 20 signals over 10,000 series scraped every second: a Python HTTP
     server on loopback serves a text exposition (0.0.4) whose counters grow and gauges
     move at every request; `pulse-sidecar run --scrape none --config FILE` scrapes it
     every 1 s; its signals (rates over [1m], a histogram_quantile, label_replace,
     max_over_time over [5m], failed/total ratios with on/ignoring, ...) are read as in
     production: /metrics every 15 s (Prometheus' scrape interval in conf/prometheus) and
     /signals every 15 s half a period later (the HPA's sync through the adapter), each
     read evaluating them once. After a warm-up (the [1m] ranges fill; the [5m] ones fill
     after 5 minutes), for MEASURE seconds: CPU seconds a minute (utime + stime from
     /proc), split into the thread that scrapes and parses and the rest (evaluations and
     the answers to the reads), what a reader every second would add, resident memory
     (VmRSS every second, at the end and the largest seen, and of it what is not file
     backed), pulse_signals_evaluation_seconds at each read of /metrics, and a check at
     each read of /signals that every signal has series. Targets: under 0.5 CPU-seconds a
     minute, under 24 MB resident; "OVER TARGET" beside a figure over its target.

Environment: BENCH_WORKERS_SECONDS (MEASURE, default 60), BENCH_WORKERS_WARMUP (default
60), BENCH_WORKERS_REPEATS (default 20).

Figures only: nothing passes or fails on time. The exit status is non-zero only when the
benchmark cannot run (a tool missing, the sidecar exiting, promql_eval answering the wrong
number of lines or with an internal error). Everything listens on 127.0.0.1 on free ports;
only processes started here are stopped, by pid.
"""

import http.client
import http.server
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
import promql_corpus as corpus  # noqa: E402

CPU_TARGET = 0.5      # CPU-seconds a minute
RSS_TARGET = 24e6     # bytes
INTERVAL = "1s"
READ_EVERY = 15       # seconds between two reads of /metrics (and of /signals)
QUEUES = 1000         # app_jobs_total (x2 statuses) and app_queue_length
HIST_QUEUES = 500     # app_job_duration_seconds: 12 buckets + _sum + _count each
POOLS = 10
BOUNDS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]


def over(value, target):
    return "" if value < target else "  OVER TARGET"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fail(message):
    print(f"bench: {message}", file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------------------------------
# 1. corpus evaluation cost


def corpus_lines():
    """The differential test's queries, as promql_eval reads them."""
    return [f"{corpus.T0_MS + t}\t{case.expr}\n" for case in corpus.CORPUS for t in case.times]


def run_eval(tool, samples, stdin):
    """(wall seconds, child CPU seconds, stdout) of one promql_eval run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([str(tool), str(samples)], input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        fail(f"promql_eval exited {r.returncode}: {r.stderr.decode(errors='replace')[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, r.stdout


def corpus_cost(build, workdir, repeats):
    tool = build / "promql_eval"
    if not tool.is_file():
        fail(f"{tool} missing: cmake --build BUILD_DIR --target promql_eval")
    samples = workdir / "samples.json"
    samples.write_text(json.dumps(corpus.SERIES))
    lines = corpus_lines()
    once = "".join(lines).encode()
    many = once * repeats
    n = len(lines)
    exprs = len(corpus.CORPUS)
    errors = sum(1 for c in corpus.CORPUS if c.kind == "error")
    points = sum(len(s["points"]) for s in corpus.SERIES)

    # Check one pass: an answer a line, no exception escaping pulse's code.
    _, _, out = run_eval(tool, samples, once)
    answers = out.decode(errors="replace").splitlines()
    if len(answers) != n:
        fail(f"promql_eval answered {len(answers)} lines to {n}")
    internal = [a for a in answers if '"internal":true' in a]
    if internal:
        fail(f"promql_eval: an internal error: {internal[0][:300]}")

    # Alternate single and repeated runs, 3 each; medians.
    w1, c1, wn, cn = [], [], [], []
    for _ in range(3):
        w, c, out = run_eval(tool, samples, once)
        w1.append(w)
        c1.append(c)
        w, c, out = run_eval(tool, samples, many)
        got = out.count(b"\n")
        if got != n * repeats:
            fail(f"promql_eval answered {got} lines to {n * repeats}")
        wn.append(w)
        cn.append(c)
    pass_cpu = (statistics.median(cn) - statistics.median(c1)) / (repeats - 1)
    pass_wall = (statistics.median(wn) - statistics.median(w1)) / (repeats - 1)
    print(f"  corpus: {exprs} expressions ({exprs - errors} answered, {errors} refused by"
          f" Prometheus too), {n:,} (expression, time) lines, over {len(corpus.SERIES)} series"
          f" / {points:,} samples")
    print(f"  promql_eval run 3 times with one pass and 3 times with {repeats} passes"
          f" (alternating; medians):")
    print(f"    one pass, {repeats} passes: {statistics.median(c1) * 1e3:.1f} ms,"
          f" {statistics.median(cn) * 1e3:.1f} ms CPU"
          f" ({statistics.median(w1) * 1e3:.1f} ms, {statistics.median(wn) * 1e3:.1f} ms wall)")
    print(f"    one pass over the corpus: {pass_cpu * 1e3:.1f} ms CPU ({pass_wall * 1e3:.1f} ms wall)")
    print(f"    per line on average: {pass_cpu / n * 1e6:.1f} us CPU"
          f" ({pass_wall / n * 1e6:.1f} us wall)")
    print("    each line is parsed, evaluated and its answer printed as JSON (one write a line):")
    print("    an upper bound of what evaluating one signal after a scrape costs over data this size")


# ---------------------------------------------------------------------------------------
# 2. the exposition: ~10,000 series that move at every request


class Exposition:
    """A 0.0.4 text exposition of QUEUES x 2 job counters, QUEUES queue lengths and
    HIST_QUEUES duration histograms; every render is the next state (counters grow by
    a queue's own rate, gauges move, histograms take new observations)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.n = 0
        self.requests = 0
        q = range(QUEUES)
        pool = [f"p{i % POOLS}" for i in q]
        self.ok_prefix = [f'app_jobs_total{{pool="{pool[i]}",queue="q{i}",status="ok"}} ' for i in q]
        self.failed_prefix = [f'app_jobs_total{{pool="{pool[i]}",queue="q{i}",status="failed"}} '
                              for i in q]
        self.len_prefix = [f'app_queue_length{{pool="{pool[i]}",queue="q{i}"}} ' for i in q]
        self.hist = []  # per queue: (bucket prefixes, sum prefix, count prefix)
        for i in range(HIST_QUEUES):
            labels = f'pool="{pool[i]}",queue="q{i}"'
            self.hist.append(([f'app_job_duration_seconds_bucket{{{labels},le="{b}"}} '
                               for b in BOUNDS],
                              f"app_job_duration_seconds_sum{{{labels}}} ",
                              f"app_job_duration_seconds_count{{{labels}}} "))
        # Observations a request, per bucket (not cumulative), by the queue's shape; the
        # middle of each bucket as the observed value, for _sum.
        shapes = [[0, 1, 3, 6, 9, 6, 3, 1, 1, 0, 0, 0], [0, 0, 1, 2, 4, 8, 6, 3, 1, 1, 0, 0],
                  [2, 5, 8, 4, 2, 1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 2, 3, 5, 7, 4, 2, 1, 1],
                  [1, 2, 2, 3, 3, 3, 2, 2, 1, 1, 0, 1]]
        mids = [0.003, 0.008, 0.02, 0.04, 0.08, 0.2, 0.4, 0.8, 2, 4, 8, 15]
        self.shape_cum = []
        self.shape_sum = []
        for s in shapes:
            cum, total = [], 0
            for c in s:
                total += c
                cum.append(total)
            self.shape_cum.append(cum)
            self.shape_sum.append(sum(c * m for c, m in zip(s, mids)))
        self.hist_weight = [0] * HIST_QUEUES  # observations so far, in units of the shape

    def render(self):
        with self.lock:
            self.n += 1
            self.requests += 1
            n = self.n
            for i in range(HIST_QUEUES):
                self.hist_weight[i] += 1 + (n + i) % 3
            weights = list(self.hist_weight)
        out = ["# HELP app_jobs_total Jobs done, by queue and outcome.\n",
               "# TYPE app_jobs_total counter\n"]
        for i in range(QUEUES):
            out.append(f"{self.ok_prefix[i]}{n * (1 + i % 5) + (n // 3) * (i % 2)}\n")
            out.append(f"{self.failed_prefix[i]}{n // (2 + i % 7)}\n")
        out.append("# HELP app_queue_length Jobs waiting, by queue.\n")
        out.append("# TYPE app_queue_length gauge\n")
        for i in range(QUEUES):
            out.append(f"{self.len_prefix[i]}{(i * 37 + n * (1 + i % 3)) % 250}\n")
        out.append("# HELP app_job_duration_seconds Time a job takes.\n")
        out.append("# TYPE app_job_duration_seconds histogram\n")
        for i in range(HIST_QUEUES):
            buckets, sum_prefix, count_prefix = self.hist[i]
            w = weights[i]
            cum = self.shape_cum[i % len(self.shape_cum)]
            for b in range(len(BOUNDS)):
                out.append(f"{buckets[b]}{cum[b] * w}\n")
            out.append(f"{sum_prefix}{self.shape_sum[i % len(self.shape_sum)] * w:.3f}\n")
            out.append(f"{count_prefix}{cum[-1] * w}\n")
        return "".join(out).encode()

    @staticmethod
    def labelsets():
        """(name, labels) of every series, as the signals' selectors see them."""
        for i in range(QUEUES):
            base = {"pool": f"p{i % POOLS}", "queue": f"q{i}"}
            yield "app_jobs_total", dict(base, status="ok")
            yield "app_jobs_total", dict(base, status="failed")
            yield "app_queue_length", base
        for i in range(HIST_QUEUES):
            base = {"pool": f"p{i % POOLS}", "queue": f"q{i}"}
            for b in BOUNDS:
                yield "app_job_duration_seconds_bucket", dict(base, le=b)
            yield "app_job_duration_seconds_sum", base
            yield "app_job_duration_seconds_count", base

    @staticmethod
    def series():
        return QUEUES * 2 + QUEUES + HIST_QUEUES * (len(BOUNDS) + 2)


def serve(exposition):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = exposition.render()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# name, expression: what a team scaling and watching 1,000 queues would write
SIGNALS = [
    ("bench_jobs_per_second_by_queue", 'sum by (queue) (rate(app_jobs_total[1m]))'),
    ("bench_jobs_per_second", 'sum(rate(app_jobs_total{status="ok"}[1m]))'),
    ("bench_failed_per_second_by_pool", 'sum by (pool) (rate(app_jobs_total{status="failed"}[1m]))'),
    ("bench_failure_ratio_by_queue",
     'rate(app_jobs_total{status="failed"}[1m]) / ignoring (status) '
     'sum without (status) (rate(app_jobs_total[1m]))'),
    ("bench_failure_ratio_by_pool",
     'sum by (pool) (rate(app_jobs_total{status="failed"}[1m])) / on (pool) '
     'sum by (pool) (rate(app_jobs_total[1m]))'),
    ("bench_pool_failing",
     'sum by (pool) (rate(app_jobs_total{status="failed"}[1m])) > bool on (pool) '
     '0.2 * sum by (pool) (rate(app_jobs_total[1m]))'),
    ("bench_jobs_waiting", 'sum(app_queue_length)'),
    ("bench_jobs_waiting_by_pool", 'sum by (pool) (app_queue_length)'),
    ("bench_jobs_waiting_by_shard",
     'sum by (shard) (label_replace(app_queue_length, "shard", "$1", "queue", "q([0-9]).*"))'),
    ("bench_queues_backed_up", 'count(app_queue_length > 200)'),
    ("bench_queues_over_150_by_pool", 'sum by (pool) (app_queue_length > bool 150)'),
    ("bench_avg_queue_length", 'avg without (queue) (app_queue_length)'),
    ("bench_excess_backlog_by_pool",
     'clamp_min(sum by (pool) (app_queue_length) - 100 * count by (pool) (app_queue_length), 0)'),
    ("bench_desired_workers_by_pool",
     'clamp_max(clamp_min(sum by (pool) (app_queue_length) / 500, 1), 20)'),
    ("bench_peak_queue_length_5m_by_pool", 'max by (pool) (max_over_time(app_queue_length[5m]))'),
    ("bench_failed_5m", 'sum(increase(app_jobs_total{status="failed"}[5m]))'),
    ("bench_job_duration_p95_by_pool",
     'histogram_quantile(0.95, sum by (pool, le) (rate(app_job_duration_seconds_bucket[1m])))'),
    ("bench_job_duration_p50_by_queue",
     'histogram_quantile(0.5, sum by (queue, le) (rate(app_job_duration_seconds_bucket[1m])))'),
    ("bench_job_duration_mean_by_pool",
     'sum by (pool) (rate(app_job_duration_seconds_sum[1m])) / '
     'sum by (pool) (rate(app_job_duration_seconds_count[1m]))'),
    ("bench_jobs_per_second_irate_by_pool",
     'sum by (pool) (irate(app_jobs_total{status="ok"}[1m]))'),
]


def retained_samples(seconds):
    """Samples the window needs for the signals' ranges: each series read by a range
    selector keeps the range (one sample a second), one read only by instant selectors its
    last sample, one read by none nothing. (series, samples now, samples once every range
    is full), `seconds` after the first scrape."""
    selector = re.compile(r'([A-Za-z_:][A-Za-z0-9_:]*)\s*(?:\{([^}]*)\})?\s*(?:\[(\d+)([smh])\])?'
                          r'(?!\s*\()')
    matcher = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
    unit = {"s": 1, "m": 60, "h": 3600}
    selectors = []  # (name, [(label, op, value)], range seconds or 0)
    for _, expr in SIGNALS:
        for m in selector.finditer(expr):
            name, matchers, n, u = m.groups()
            if name.startswith("app_"):
                selectors.append((name, matcher.findall(matchers or ""),
                                  int(n) * unit[u] if n else 0))

    def matches(name, labels, sel):
        if sel[0] != name:
            return False
        for label, op, value in sel[1]:
            have = labels.get(label, "")
            ok = {"=": have == value, "!=": have != value,
                  "=~": re.fullmatch(value, have) is not None,
                  "!~": re.fullmatch(value, have) is None}[op]
            if not ok:
                return False
        return True

    series = now = full = 0
    for name, labels in Exposition.labelsets():
        ranges = [sel[2] for sel in selectors if matches(name, labels, sel)]
        if not ranges:
            continue
        series += 1
        longest = max(ranges)
        now += min(longest, seconds) + 1 if longest else 1
        full += longest + 1 if longest else 1
    return series, round(now), full


def write_config(path, port):
    lines = ["sources:", "  - name: app", f"    url: http://127.0.0.1:{port}/metrics",
             f"    interval: {INTERVAL}", "signals:"]
    for name, expr in SIGNALS:
        lines += [f"  - name: {name}", "    expr: '" + expr.replace("'", "''") + "'"]
    path.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------
# 2. the sidecar


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise OSError(f"GET {path}: {r.status}")
        return body
    finally:
        conn.close()


def metric_value(text, prefix):
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return None


def tasks_cpu(pid):
    """{tid: CPU seconds} of the process's live threads."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def check_signals(port, absent_seen):
    """Signals without series now, with their absent_reason; remembered in absent_seen."""
    doc = json.loads(get(port, "/signals"))
    entries = doc.get("config_signals", {})
    now = {}
    for name, _ in SIGNALS:
        entry = entries.get(name)
        if entry is None:
            now[name] = "not in /signals"
        elif not entry.get("series"):
            now[name] = entry.get("absent_reason") or "no series"
    for name, reason in now.items():
        absent_seen.setdefault(name, reason)
    return doc


def sidecar_cost(build, workdir, warmup, measure):
    sidecar = build / "pulse-sidecar"
    if not sidecar.is_file():
        fail(f"{sidecar} missing")
    exposition = Exposition()
    server = serve(exposition)
    config = workdir / "workers.yaml"
    write_config(config, server.server_address[1])
    size = len(exposition.render())  # one render to size it (the sidecar sees the next ones)
    port = free_port()
    log = open(workdir / "sidecar.log", "wb")
    proc = subprocess.Popen([str(sidecar), "run", "--scrape", "none", "--config", str(config),
                             "--listen", f"127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)

    def died():
        log.flush()
        tail = (workdir / "sidecar.log").read_text(errors="replace")[-2000:]
        fail(f"pulse-sidecar exited with {proc.returncode}:\n{tail}")

    try:
        end = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                died()
            try:
                get(port, "/readyz")
                break
            except OSError:
                if time.monotonic() > end:
                    fail("pulse-sidecar never became ready")
                time.sleep(0.1)

        print(f"  source: {Exposition.series():,} series ({QUEUES:,} queues x 2 job counters,"
              f" {QUEUES:,} queue lengths, {HIST_QUEUES} histograms of {len(BOUNDS)} buckets"
              f" + _sum + _count),")
        print(f"  {size / 1e6:.2f} MB of text a scrape, served by a Python server on loopback;"
              f" every answer is a new state")
        fill = "the [1m] ranges fill" if warmup >= 60 else "the [1m] ranges are not full yet"
        print(f"  {len(SIGNALS)} signals, scrape interval {INTERVAL}; warm-up {warmup:.0f} s"
              f" ({fill}; the [5m] ones hold about {min(300, warmup + measure):.0f} s of 300"
              f" at the end{': still growing' if warmup + measure < 300 else ''}),"
              f" then {measure:.0f} s measured")

        started = time.monotonic()
        # Warm-up: no requests to the sidecar, so the busiest thread is the one that
        # scrapes and evaluates.
        deadline = time.monotonic() + warmup
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                died()
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        threads0 = tasks_cpu(proc.pid)
        engine_tid = max(threads0, key=threads0.get)

        absent = {}
        evals, scrapes, rss_seen = [], [], []
        # The bench's own check that every signal has series, before and after the measured
        # minute, outside it: inside, only the reads production makes.
        doc = check_signals(port, absent)
        cpu0 = proc_cpu(proc.pid)
        threads0 = tasks_cpu(proc.pid)
        requests0 = exposition.requests
        t0 = time.monotonic()
        reads = 0
        tick = 0
        # The sidecar's readers as they come in production: Prometheus every 15 s
        # (conf/prometheus/prometheus.yml's scrape_interval) and the adapter, for the HPA's
        # 15 s sync, half a period later. Resident memory from /proc every second.
        while time.monotonic() - t0 < measure:
            tick += 1
            next_tick = t0 + tick
            time.sleep(max(0.0, next_tick - time.monotonic()))
            if proc.poll() is not None:
                died()
            if tick % READ_EVERY == 0:
                text = get(port, "/metrics").decode()
                reads += 1
                e = metric_value(text, "pulse_signals_evaluation_seconds ")
                s = metric_value(text, 'pulse_source_scrape_duration_seconds{source="app"}')
                if e is not None:
                    evals.append(e)
                if s is not None:
                    scrapes.append(s)
            if tick % READ_EVERY == READ_EVERY // 2:
                doc = check_signals(port, absent)
                reads += 1
            rss_seen.append(proc_status(proc.pid, "VmRSS"))
        elapsed = time.monotonic() - t0
        cpu1 = proc_cpu(proc.pid)
        threads1 = tasks_cpu(proc.pid)
        rss_end = proc_status(proc.pid, "VmRSS")
        anon_end = proc_status(proc.pid, "RssAnon")
        hwm = proc_status(proc.pid, "VmHWM")
        scraped = exposition.requests - requests0
        doc = check_signals(port, absent)

        per_minute = (cpu1 - cpu0) / elapsed * 60
        engine = (threads1.get(engine_tid, 0) - threads0.get(engine_tid, 0)) / elapsed * 60
        if threads0[engine_tid] == 0:
            engine = None  # no warm-up: the scraping thread cannot be told apart
        rss_max = max(rss_seen + [rss_end])
        print(f"  over {elapsed:.0f} s ({scraped} scrapes answered; {reads} reads of /metrics"
              f" or /signals, one every {READ_EVERY / 2:g} s, each evaluating the signals"
              f" once):")
        print(f"    CPU {per_minute:.2f} CPU-seconds a minute (target under {CPU_TARGET}){over(per_minute, CPU_TARGET)}")
        if engine is not None:
            print(f"      of which the thread that scrapes and parses {engine:.2f};"
                  f" the rest ({per_minute - engine:.2f}) evaluates and answers the reads")
        if evals:
            per_read = statistics.median(evals)
            print(f"      a reader every second instead would add about"
                  f" {per_read * (60 - 60 * reads / elapsed):.2f} CPU-seconds a minute"
                  f" ({per_read * 1e3:.1f} ms an evaluation)")
        print(f"    resident memory {rss_end / 1e6:.1f} MB at the end, {rss_max / 1e6:.1f} MB the"
              f" largest seen (target under {RSS_TARGET / 1e6:.0f} MB){over(rss_max, RSS_TARGET)};"
              f" peak since start (VmHWM) {hwm / 1e6:.1f} MB")
        print(f"      of it at the end: {anon_end / 1e6:.1f} MB anonymous (the process's own),"
              f" {(rss_end - anon_end) / 1e6:.1f} MB file-backed (the code of the binary and"
              f" its libraries)")
        kept, now, full = retained_samples(time.monotonic() - started)
        print(f"    the signals' ranges keep {kept:,} series: about {now:,} samples now"
              f" ({now * 16 / 1e6:.1f} MB as 16-byte (time, value) pairs), {full:,} once the"
              f" [5m] ranges are full ({full * 16 / 1e6:.1f} MB as pairs; the window holds them"
              f" compressed)")
        if evals:
            print(f"    pulse_signals_evaluation_seconds, at each read of /metrics: median"
                  f" {statistics.median(evals) * 1e3:.1f} ms, max {max(evals) * 1e3:.1f} ms"
                  f" ({len(evals)} samples)")
        else:
            print("    pulse_signals_evaluation_seconds: not on /metrics")
        if scrapes:
            print(f"    pulse_source_scrape_duration_seconds: median"
                  f" {statistics.median(scrapes) * 1e3:.1f} ms, max {max(scrapes) * 1e3:.1f} ms")
        src = doc.get("sources", {}).get("app", {})
        entries = doc.get("config_signals", {})
        out_series = sum(len(entries.get(n, {}).get("series") or []) for n, _ in SIGNALS)
        windows = sorted({entries.get(n, {}).get("window_seconds") for n, _ in SIGNALS}
                         - {None})
        print(f"    last scrape: {src.get('samples', 0):,} samples, up {src.get('up')};"
              f" the signals' {out_series:,} series in all; windows read (window_seconds):"
              f" {', '.join(f'{w:g} s' for w in windows) or 'not reported'}")
        if absent:
            print("    WARNING: signals without series at some check (a bad expression?):")
            for name, reason in sorted(absent.items()):
                print(f"      {name}: {reason}")
        else:
            print("    every signal had series at every check of /signals")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        server.shutdown()
        server.server_close()


def main():
    if len(sys.argv) != 2:
        print("usage: bench/workers.py BUILD_DIR", file=sys.stderr)
        sys.exit(2)
    build = Path(sys.argv[1]).resolve()
    measure = float(os.environ.get("BENCH_WORKERS_SECONDS", 60))
    warmup = float(os.environ.get("BENCH_WORKERS_WARMUP", 60))
    repeats = int(os.environ.get("BENCH_WORKERS_REPEATS", 20))
    if repeats < 2 or measure <= 0 or warmup < 0:
        fail("BENCH_WORKERS_REPEATS must be at least 2, BENCH_WORKERS_SECONDS above 0")
    with tempfile.TemporaryDirectory(prefix="pulse-bench-workers.") as tmp:
        workdir = Path(tmp)
        print("  -- PromQL: the differential corpus through promql_eval")
        corpus_cost(build, workdir, repeats)
        print(f"  -- pulse-sidecar run --config: {len(SIGNALS)} signals over"
              f" {Exposition.series():,} series every {INTERVAL}")
        sidecar_cost(build, workdir, warmup, measure)


if __name__ == "__main__":
    main()
