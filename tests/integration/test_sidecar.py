"""pulse-sidecar against the real nginx with the module: signals, staleness, restarts,
drain, garbage, and a real Prometheus scraping the sidecar."""

import json
import math
import signal
import threading
import time

import pulse_harness as ph
from expo import Exposition
from paced_load import paced

# Short interval and window so the tests are quick; the math is the same at 1s/30s.
FAST = ("--interval", "200ms", "--window", "3s", "--stale-after", "1s")

NGINX = """
    pulse_zone pulse 1m;
    pulse_buckets 0.01 0.05 0.1 0.25 0.5 1;
    upstream app {{ server 127.0.0.1:{up}; }}
    server {{
        listen 127.0.0.1:@@http@@;
        server_name web;
        location = /metrics {{ pulse_exporter; pulse_metrics off; }}
        location / {{ return 200 "ok"; }}
        location /fail {{ return 503; }}
        location /app/ {{ proxy_pass http://app/; }}
        location /ws {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
        }}
    }}
"""


def start_pair(nginx_factory, sidecar_factory, upstream, *flags):
    ng = nginx_factory(NGINX.format(up=upstream.port))
    sc = sidecar_factory(ng.url("http", "/metrics"), *(flags or FAST))
    ph.wait_for(lambda: sc.get("/readyz")[0] == 200, message="sidecar ready")
    return ng, sc


def test_requests_per_second_follows_a_known_rate(nginx_factory, sidecar_factory, upstream):
    ng, sc = start_pair(nginx_factory, sidecar_factory, upstream)
    paced(ng.url("http", "/"), rate=80, seconds=4.5)  # longer than the 3 s window
    s = sc.signals()
    rps = s["pod"]["pulse_requests_per_second"]
    assert abs(rps - 80) <= 8, s
    assert abs(s["servers"]["web"]["pulse_requests_per_second"] - 80) <= 8, s
    assert s["stale"] is False and s["draining"] is False
    assert s["window_seconds"] >= 2.5
    assert s["pod"]["pulse_error_ratio"] == 0
    # /metrics: the pod's total and the servers' parts in families of their own, so that
    # summing one family counts each request once.
    m = Exposition(sc.get("/metrics")[2])
    assert [labels for labels, _ in m.series("pulse_requests_per_second")] == [{}]
    per_server = m.series("pulse_server_requests_per_second")
    assert [labels for labels, _ in per_server] == [{"server": "web"}], per_server
    assert abs(per_server[0][1] - 80) <= 8
    assert m.series("pulse_server_connection_saturation") == []  # pod only
    for name in {n for n, _ in m.samples}:
        if name.startswith("pulse_"):
            kinds = {bool(labels) for labels, _ in m.series(name)}
            assert len(kinds) == 1, (name, m.series(name))  # no total beside its parts


def test_p95_within_one_bucket_of_the_injected_latency(nginx_factory, sidecar_factory, upstream):
    ng, sc = start_pair(nginx_factory, sidecar_factory, upstream)
    # 20 answers of 180 ms and nothing else: the p95 is in the (0.1, 0.25] bucket.
    threads = [threading.Thread(target=lambda: [ph.http_get(ng.url("http", "/app/delay/180"))
                                                for _ in range(5)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.5)
    s = sc.signals()["pod"]
    assert 0.1 < s["pulse_request_duration_p95_seconds"] <= 0.25, s
    assert 0.1 < s["pulse_upstream_duration_p95_seconds"] <= 0.25, s
    assert s["pulse_request_duration_p50_seconds"] <= s["pulse_request_duration_p95_seconds"] \
        <= s["pulse_request_duration_p99_seconds"]


def test_burst_of_5xx_shows_in_the_error_ratio(nginx_factory, sidecar_factory, upstream):
    ng, sc = start_pair(nginx_factory, sidecar_factory, upstream)
    for _ in range(30):
        ph.http_get(ng.url("http", "/"))
    for _ in range(10):
        ph.http_get(ng.url("http", "/fail"))
    ph.wait_for(lambda: sc.signals()["pod"]["pulse_error_ratio"] > 0, message="errors seen")
    ratio = sc.signals()["pod"]["pulse_error_ratio"]
    assert abs(ratio - 0.25) < 0.01, ratio


def test_dead_nginx_makes_it_unready_and_the_age_grows(nginx_factory, sidecar_factory, upstream):
    ng, sc = start_pair(nginx_factory, sidecar_factory, upstream)
    ng.stop()
    killed = time.monotonic()
    # Not ready within stale-after (1 s) plus one interval; the wait itself has room.
    ph.wait_for(lambda: sc.get("/readyz")[0] == 503, timeout=10, message="not ready")
    status, _, body = sc.get("/readyz")
    assert status == 503 and b"last good scrape of nginx" in body, body
    assert b"Connection refused" in body or b"connect" in body.lower(), body
    a1 = sc.signals()["age_seconds"]
    time.sleep(0.6)
    s = sc.signals()
    assert s["age_seconds"] > a1 and s["stale"] is True
    assert s["last_error"]
    assert sc.get("/healthz")[0] == 200  # the sidecar itself is fine
    m = Exposition(sc.get("/metrics")[2])
    assert m.value("pulse_scrape_errors_total", reason="transport") > 0
    # Stale signals are not published as if fresh.
    assert m.series("pulse_requests_per_second") == []
    assert m.value("pulse_scrape_age_seconds") > 1
    assert time.monotonic() - killed >= 0  # (no timing assertion: just the order of events)


def test_restarted_nginx_gives_no_negative_or_spiking_rate(nginx_factory, sidecar_factory,
                                                           upstream):
    ng, sc = start_pair(nginx_factory, sidecar_factory, upstream)
    url = ng.url("http", "/")
    paced(url, rate=50, seconds=3.5)
    before = sc.signals()["pod"]["pulse_requests_per_second"]
    # A restart: counters start again from zero.
    ng.stop()
    ng.start()
    seen = []
    stop = threading.Event()
    sampler = threading.Thread(target=lambda: [
        (seen.append(sc.signals()["pod"]["pulse_requests_per_second"]), time.sleep(0.1))
        for _ in iter(lambda: stop.is_set(), True)])
    sampler.start()
    try:
        paced(url, rate=50, seconds=4)
    finally:
        stop.set()
        sampler.join()
    assert seen and min(seen) >= 0, seen
    assert max(seen) <= 50 * 1.2, seen  # no spike from the reset
    assert abs(before - 50) <= 5
    assert abs(sc.signals()["pod"]["pulse_requests_per_second"] - 50) <= 5


def test_drain_waits_for_the_slow_request_then_returns(nginx_factory, sidecar_factory, upstream):
    ng, sc = start_pair(nginx_factory, sidecar_factory, upstream)
    result = {}
    slow = threading.Thread(target=lambda: result.update(
        slow=ph.http_get(ng.url("http", "/app/delay/1500"), timeout=30)[0]))
    slow.start()
    ph.wait_for(lambda: any("/delay/" in r[1] for r in upstream.requests), message="slow request")
    drain = threading.Thread(target=lambda: result.update(
        drain=ph.http_get(sc.url("/drain?timeout=20s"), method="POST", timeout=30)))
    drain.start()
    # Readiness turns false at once, while the drain call is still waiting.
    ph.wait_for(lambda: sc.get("/readyz")[0] == 503, message="unready while draining")
    assert b"draining" in sc.get("/readyz")[2]
    assert drain.is_alive() or "slow" in result
    drain.join()
    slow.join()
    status, _, body = result["drain"]
    doc = json.loads(body)
    assert status == 200 and doc["drained"] is True and doc["reason"] == "no request in flight", doc
    assert result["slow"] == 200  # the drain did not cut it short
    assert sc.signals()["draining"] is True


def test_drain_times_out_and_says_so(nginx_factory, sidecar_factory, upstream):
    ng, sc = start_pair(nginx_factory, sidecar_factory, upstream)
    slow = threading.Thread(target=lambda: ph.http_get(ng.url("http", "/app/delay/4000"), timeout=30))
    slow.start()
    ph.wait_for(lambda: any("/delay/" in r[1] for r in upstream.requests), message="slow request")
    status, _, body = sc.get("/drain?timeout=500ms", method="POST")
    doc = json.loads(body)
    assert status == 200 and doc["drained"] is False and doc["reason"] == "timeout", doc
    assert doc["requests_in_flight"] == 1
    slow.join()


def test_drain_command_for_prestop(nginx_factory, sidecar_factory, upstream):
    import subprocess
    ng, sc = start_pair(nginx_factory, sidecar_factory, upstream)
    with ph.WebSocketClient("127.0.0.1", ng.port("http"), "/ws") as ws:
        ws.echo(b"x")
        r = subprocess.run([str(ph.sidecar_path()), "drain", "--sidecar", sc.url(""),
                            "--timeout", "10s"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    # Websockets are reported, not waited for.
    assert doc["drained"] is True and doc["websocket_connections"] == 1, doc


def test_garbage_speaking_nginx_is_reported_with_the_line(nginx_factory, sidecar_factory,
                                                          upstream):
    ng = nginx_factory(NGINX.format(up=upstream.port) + """
        server {
            listen 127.0.0.1:@@junk@@;
            location /metrics { default_type text/plain; return 200 "# TYPE x counter\\nx 1\\nthis is not a sample\\n"; }
        }""")
    sc = sidecar_factory(ng.url("junk", "/metrics"), *FAST)
    ph.wait_for(lambda: b"malformed exposition at line 3" in sc.get("/readyz")[2],
                message="parse error reported")
    assert sc.get("/readyz")[0] == 503
    m = Exposition(sc.get("/metrics")[2])
    assert m.value("pulse_scrape_errors_total", reason="parse") > 0


def test_slow_nginx_times_out_and_recovers(nginx_factory, sidecar_factory, upstream):
    ng = nginx_factory(NGINX.format(up=upstream.port) + f"""
        server {{
            listen 127.0.0.1:@@slow@@;
            location /metrics {{ proxy_pass http://127.0.0.1:{upstream.port}/delay/3000; }}
        }}""")
    sc = sidecar_factory(ng.url("slow", "/metrics"), *FAST)
    ph.wait_for(lambda: b"timed out" in sc.get("/readyz")[2].lower() or
                b"timeout" in sc.get("/readyz")[2].lower(), message="timeout reported")
    assert sc.get("/readyz")[0] == 503
    assert sc.get("/healthz")[0] == 200


def test_sidecar_recovers_when_nginx_comes_back(nginx_factory, sidecar_factory, upstream):
    ng, sc = start_pair(nginx_factory, sidecar_factory, upstream)
    ng.stop()
    ph.wait_for(lambda: sc.get("/readyz")[0] == 503, message="unready")
    ng.start()
    ph.wait_for(lambda: sc.get("/readyz")[0] == 200, message="ready again")
    assert sc.signals()["stale"] is False


def test_prometheus_scrapes_the_sidecar(nginx_factory, sidecar_factory, upstream,
                                        prometheus_factory):
    ng, sc = start_pair(nginx_factory, sidecar_factory, upstream)
    stop = threading.Event()
    load = threading.Thread(target=paced, args=(ng.url("http", "/"), 20, 60, stop))
    load.start()
    try:
        prom = prometheus_factory([("sidecar", f"127.0.0.1:{sc.port}", "/metrics")])
        prom.wait_targets_up()
        ph.wait_for(lambda: prom.query("pulse_requests_per_second") != [], timeout=30,
                    message="signal in Prometheus")
        value = float(prom.query("pulse_requests_per_second")[0]["value"][1])
        assert math.isfinite(value) and value > 0
    finally:
        stop.set()
        load.join()
    rc, out = ph.promtool_check_metrics(sc.get("/metrics")[2].decode())
    assert rc == 0, out


def test_endpoints_refuse_wrong_methods_and_paths(nginx_factory, sidecar_factory, upstream):
    ng, sc = start_pair(nginx_factory, sidecar_factory, upstream)
    assert sc.get("/drain")[0] == 405
    assert sc.get("/metrics", method="POST", data="")[0] == 405
    assert sc.get("/nope")[0] == 404
    assert sc.get("/drain?timeout=banana", method="POST")[0] == 400
    assert sc.get("/readyz")[0] == 200  # a refused drain did not start draining



def test_bad_flags_are_refused_with_a_clear_message():
    import subprocess
    for args, words in ((["run", "--interval", "soon"], "invalid duration"),
                        (["run", "--window", "1s", "--interval", "1s"], "--window"),
                        (["run", "--listen", "256.0.0.1:1"], "cannot listen"),
                        (["frobnicate"], "subcommand")):
        r = subprocess.run([str(ph.sidecar_path()), *args], capture_output=True, text=True,
                           timeout=20)
        assert r.returncode != 0, args
        assert words in (r.stderr + r.stdout), (args, r.stderr)
