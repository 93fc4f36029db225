"""Reliability under load (issue 16, items 1 and 2): the module's counters through a
storm of reloads and through workers killed with SIGKILL, with traffic running and a
real Prometheus (Debian's 2.42) scraping every second. Figures are printed; what must
hold is asserted: not one count lost or reset, not one series lost, no zone leaked.
docs/reliability.md records the figures."""

import http.client
import random
import re
import signal
import threading
import time

import pulse_harness as ph
import expo
from load_generators import AbLoop, WrkLoad

LOCATIONS = ("/a/", "/b/", "/c/")

# Two layouts the storm switches between every tenth reload: other buckets, and a
# location that comes and goes. Its series must stay (counters outlive the config).
LAYOUTS = [
    {"buckets": "0.005 0.05 0.5", "extra": ""},
    {"buckets": "0.01 0.1 1 5", "extra": "location /d/ { return 200 'd'; }"},
]

STORM = """
    pulse_zone pulse 1m;
    pulse_buckets {buckets};
    server {{
        listen 127.0.0.1:@@http@@;
        server_name site;
        location = /metrics {{ pulse_exporter; pulse_metrics off; }}
        location /a/ {{ return 200 'a'; }}
        location /b/ {{ return 200 'b'; }}
        location /c/ {{ return 200 'c'; }}
        {extra}
    }}
"""

# Counters, histogram counts and buckets: what resets() must find never going down.
COUNTER_NAMES = r"nginx_.+_(total|count|bucket)"


def storm_config(layout):
    return STORM.format(**LAYOUTS[layout])


def series_of(e):
    """Every series, buckets by their histogram: their bounds follow the config."""
    return {(name, labels) for (name, labels) in e.samples
            if not name.endswith("_bucket")}


def requests_by_location(e):
    return {loc: e.total("nginx_http_requests_total", location=loc) or 0
            for loc in LOCATIONS + ("/d/",)}


def shm_used(e):
    return e.value("nginx_pulse_shm_bytes", state="used")


def hit(ng, path, n):
    for _ in range(n):
        status, _, _ = ph.http_get(ng.url("http", path))
        assert status == 200


def prometheus_caught_up(prom, total):
    """Prometheus has scraped a state in which every request of the run was counted."""
    def caught_up():
        result = prom.query('sum(nginx_http_requests_total{job="nginx"})')
        return bool(result) and float(result[0]["value"][1]) == total
    ph.wait_for(caught_up, timeout=30, interval=0.25, message="prometheus to scrape the end")


def resets_and_series(prom, window):
    """resets() summed over every counter, histogram count and bucket Prometheus holds,
    and how many series that was. Per family: resets() drops the name, and families
    share label sets."""
    families = [n for n in prom.api("label/__name__/values")
                if re.fullmatch(COUNTER_NAMES, n)]
    resets = series = 0
    for name in families:
        resets += float(prom.query(f"sum(resets({name}[{window}]))")[0]["value"][1])
        series += int(prom.query(f"count(last_over_time({name}[{window}]))")[0]["value"][1])
    return resets, series


class MonotonicWatch:
    """Scrapes the exporter in a loop and remembers any counter that went down."""

    def __init__(self, ng):
        self.ng = ng
        self.highest = {}
        self.decreases = []
        self.scrapes = 0
        self.failed_scrapes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                e = expo.scrape(self.ng, settle=False)
            except (OSError, http.client.HTTPException, ph.HarnessError, AssertionError, ValueError):
                self.failed_scrapes += 1  # its worker died under it
                continue
            self.scrapes += 1
            for key, value in e.samples.items():
                name = key[0]
                if not (name.endswith("_total") or name.endswith("_count")
                        or name.endswith("_bucket")):
                    continue
                if value < self.highest.get(key, value):
                    self.decreases.append((key, self.highest[key], value))
                self.highest[key] = max(value, self.highest.get(key, value))
            time.sleep(0.1)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()


def test_reload_storm_loses_no_count_resets_nothing_and_leaks_no_zone(nginx_factory,
                                                                     prometheus_factory):
    ng = nginx_factory(storm_config(0), workers=2)
    d_hits = 0
    # Steady level: every series the storm will write exists, in both layouts.
    for layout in (1, 0, 1):
        ng.reload(storm_config(layout))
        for loc in LOCATIONS:
            hit(ng, loc, 3)
        if LAYOUTS[layout]["extra"]:
            hit(ng, "/d/x", 3)
            d_hits += 3
    steady = expo.scrape(ng)
    steady_used = shm_used(steady)
    series_before = series_of(steady)
    before = requests_by_location(steady)

    prom = prometheus_factory([("nginx", f"127.0.0.1:{ng.port('http')}", "/metrics")])
    prom.wait_targets_up()
    started = time.monotonic()

    watch = MonotonicWatch(ng).start()
    loads = {loc: AbLoop(ng.url("http", loc + "x"), batch=400, concurrency=2).start()
             for loc in LOCATIONS}
    layout = 1
    reload_seconds = []
    for i in range(50):
        if i % 10 == 0:
            layout = 1 - layout
        t0 = time.monotonic()
        ng.reload(storm_config(layout))
        reload_seconds.append(time.monotonic() - t0)
        if LAYOUTS[layout]["extra"]:
            hit(ng, "/d/x", 2)
            d_hits += 2
    totals = {loc: load.stop() for loc, load in loads.items()}
    storm_seconds = time.monotonic() - started
    watch.stop()

    after = expo.scrape(ng)
    counted = requests_by_location(after)
    sent = sum(t["complete"] for t in totals.values())
    print(f"\nreload storm: 50 reloads (5 with other buckets and locations) in "
          f"{storm_seconds:.1f} s, reload to new workers median "
          f"{sorted(reload_seconds)[25] * 1000:.0f} ms, max {max(reload_seconds) * 1000:.0f} ms; "
          f"{sent} requests by ab ({sent / storm_seconds:.0f}/s), "
          f"failed {sum(t['failed'] for t in totals.values())}, "
          f"non-2xx {sum(t['non_2xx'] for t in totals.values())}")
    for loc in LOCATIONS:
        print(f"  {loc}: ab completed {totals[loc]['complete']} in {totals[loc]['runs']} runs, "
              f"nginx counted {counted[loc] - before[loc]:.0f}")
    print(f"  /d/: the test sent {d_hits}, nginx counted {counted['/d/']:.0f}")
    print(f"  zone used: {steady_used:.0f} bytes before, {shm_used(after):.0f} after")
    print(f"  exporter scraped {watch.scrapes} times during the storm, "
          f"counters that went down: {len(watch.decreases)}")

    for loc in LOCATIONS:
        assert totals[loc]["failed"] == 0 and totals[loc]["non_2xx"] == 0, (loc, totals[loc])
        assert counted[loc] - before[loc] == totals[loc]["complete"], loc
    assert counted["/d/"] == d_hits
    assert watch.scrapes > 0 and watch.decreases == []
    assert series_of(after) >= series_before, series_before - series_of(after)
    # Same series, same zone: a reload that kept anything of its own would show here.
    assert shm_used(after) == steady_used

    prometheus_caught_up(prom, sum(counted.values()))
    window = f"{int(time.monotonic() - started) + 30}s"
    resets, series = resets_and_series(prom, window)
    up = prom.query(f'min_over_time(up{{job="nginx"}}[{window}])')
    print(f"  prometheus: resets() over {series} counter series = {resets:.0f}; "
          f"min(up) = {up[0]['value'][1]}")
    assert series >= len(series_before) // 2  # the query saw the counters at all
    assert resets == 0
    assert up[0]["value"][1] == "1"
    assert ng.crashed_workers() == []


KILLED = """
    pulse_zone pulse 1m;
    upstream app {{ server 127.0.0.1:{up}; }}
    server {{
        listen 127.0.0.1:@@http@@;
        server_name site;
        location = /metrics {{ pulse_exporter; pulse_metrics off; }}
        location /fast/ {{ return 200 'fast'; }}
        location /app/ {{ proxy_pass http://app/; }}
        location /ws {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
        }}
    }}
"""


class SlowRequests:
    """Threads asking the upstream for slow answers, so requests are in flight when a
    worker dies; answers cut by a kill are expected and counted apart."""

    def __init__(self, ng, threads=4):
        self.ng = ng
        self.ok = 0
        self.cut = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        while not self._stop.is_set():
            try:
                status, _, _ = ph.http_get(self.ng.url("http", "/app/delay/150"), timeout=30)
                ok = status == 200
            except (OSError, http.client.HTTPException):
                ok = False
            with self._lock:
                self.ok += ok
                self.cut += not ok

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join()


def test_killed_workers_lose_no_count_and_gauges_come_back(nginx_factory, prometheus_factory,
                                                          upstream):
    ng = nginx_factory(KILLED.format(up=upstream.port), workers=2)
    hit(ng, "/fast/x", 5)
    hit(ng, "/app/x", 5)
    with ph.WebSocketClient("127.0.0.1", ng.port("http"), "/ws") as ws:
        assert ws.echo(b"hello") == b"hello"
    before = expo.scrape(ng)
    series_before = series_of(before)

    prom = prometheus_factory([("nginx", f"127.0.0.1:{ng.port('http')}", "/metrics")])
    prom.wait_targets_up()
    started = time.monotonic()

    watch = MonotonicWatch(ng).start()
    slow = SlowRequests(ng).start()
    fast = WrkLoad(ng.url("http", "/fast/x"), seconds=62, connections=4)
    sockets = []
    rng = random.Random(16)
    kills = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        # A few websockets opened between kills; some die with their worker.
        for _ in range(3):
            try:
                sockets.append(ph.WebSocketClient("127.0.0.1", ng.port("http"), "/ws"))
            except (OSError, ph.HarnessError):
                pass  # refused by a worker on its way down
        ng.kill_worker(signal.SIGKILL, pid=rng.choice(ng.worker_pids()))
        kills += 1
        time.sleep(2)
    fast_report = fast.wait()
    slow.stop()

    # The true number of open websockets: those whose round trip still works.
    alive = []
    for ws in sockets:
        try:
            ws.sock.settimeout(5)
            if ws.echo(b"ping") == b"ping":
                alive.append(ws)
                continue
        except OSError:
            pass
        ws.close()
    gauge = dict(server="site", location="/ws")
    try:
        # After the load: nothing in flight, and the gauge equal to what is really open.
        ph.wait_for(lambda: expo.scrape(ng).total("nginx_http_requests_in_flight") == 0,
                    message="in-flight back to 0")
        ph.wait_for(lambda: expo.scrape(ng).value("nginx_http_websocket_connections", **gauge)
                    == len(alive), message=f"the websocket gauge back to {len(alive)}")
    finally:
        for ws in alive:
            ws.close()
    ph.wait_for(lambda: expo.scrape(ng).value("nginx_http_websocket_connections", **gauge) == 0,
                message="the websocket gauge back to 0")
    watch.stop()

    after = expo.scrape(ng)
    print(f"\nkilled workers: {kills} SIGKILLs in {time.monotonic() - started:.0f} s; "
          f"wrk {fast_report['requests']} requests; slow requests {slow.ok} answered, "
          f"{slow.cut} cut by a kill; websockets opened {len(sockets)}, "
          f"alive at the end {len(alive)}; exporter scraped {watch.scrapes} times "
          f"({watch.failed_scrapes} cut); counters that went down: {len(watch.decreases)}")
    assert watch.scrapes > kills  # the watch did watch
    assert watch.decreases == []
    assert series_of(after) >= series_before, series_before - series_of(after)
    assert after.total("nginx_http_requests_in_flight") == 0

    prometheus_caught_up(prom, after.total("nginx_http_requests_total"))
    window = f"{int(time.monotonic() - started) + 30}s"
    resets, series = resets_and_series(prom, window)
    print(f"  prometheus: resets() over {series} counter series = {resets:.0f}")
    assert series >= len(series_before) // 2
    assert resets == 0
