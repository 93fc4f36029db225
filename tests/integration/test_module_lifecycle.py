"""Counters survive what happens to nginx: reloads (also ones that change buckets, the
budget or the locations), a worker killed with SIGKILL, a spent budget, a full zone."""

import signal
import threading

import pulse_harness as ph
import expo
from expo import Exposition

BASE = """
    pulse_zone pulse {zone};
    {extra}
    server {{
        listen 127.0.0.1:@@http@@;
        server_name site;
        location = /metrics {{ pulse_exporter; pulse_metrics off; }}
        {locations}
    }}
"""


def config(zone="1m", extra="", locations="location / { return 200 'ok'; }"):
    return BASE.format(zone=zone, extra=extra, locations=locations)


def scrape(ng, port="http", settle=True):
    return expo.scrape(ng, port, settle)


def hit(ng, path="/", n=1, expect=200):
    for _ in range(n):
        assert ph.http_get(ng.url("http", path))[0] == expect


def counters(e):
    """Every counter sample and histogram bucket/count: none may ever decrease."""
    out = {}
    for (name, labels), value in e.samples.items():
        if name.endswith("_total") or name.endswith("_count") or name.endswith("_bucket"):
            out[(name, labels)] = value
    return out


def assert_none_decreased(before, after):
    for key, value in before.items():
        if key in after:
            assert after[key] >= value, f"{key} went from {value} to {after[key]}"


def test_reload_keeps_counters(nginx_factory):
    ng = nginx_factory(config())
    hit(ng, n=25)
    before = scrape(ng)
    ng.reload()
    after = scrape(ng)
    assert after.value("nginx_http_requests_total", server="site", location="/",
                       method="GET", status="2xx") == 25
    hit(ng, n=5)
    assert scrape(ng).value("nginx_http_requests_total", server="site", location="/",
                            method="GET", status="2xx") == 30
    assert_none_decreased(counters(before), counters(after))


def test_reload_that_changes_buckets_budget_and_locations(nginx_factory):
    ng = nginx_factory(config(extra="pulse_buckets 0.1 1;"))
    hit(ng, n=10)
    before = scrape(ng)
    assert set(before.buckets("nginx_http_request_duration_seconds", server="site",
                              location="/")) == {0.1, 1.0, float("inf")}

    ng.reload(config(extra="pulse_buckets 0.05 0.1 0.5 1 2; pulse_max_series 500;",
                     locations="location / { return 200 'ok'; }\n"
                               "location /new/ { return 200 'new'; }"))
    hit(ng, n=4)
    hit(ng, "/new/x", n=2)
    after = scrape(ng)
    # One series per label set, shown with the new buckets; older observations are kept
    # and counted under every new bound they are known to be below.
    buckets = after.buckets("nginx_http_request_duration_seconds", server="site", location="/")
    assert set(buckets) == {0.05, 0.1, 0.5, 1.0, 2.0, float("inf")}
    assert buckets[float("inf")] == 14
    assert buckets[0.1] == 14  # nothing here takes 100 ms
    assert after.value("nginx_http_request_duration_seconds_count", server="site",
                       location="/") == 14
    assert after.value("nginx_http_requests_total", server="site", location="/new/",
                       method="GET", status="2xx") == 2
    assert after.value("nginx_pulse_series_limit") == 500
    assert_none_decreased(counters(before), counters(after))

    # A reload back to the first layout must not lose the newer observations either.
    ng.reload(config(extra="pulse_buckets 0.1 1;"))
    again = scrape(ng)
    assert again.value("nginx_http_request_duration_seconds_count", server="site",
                       location="/") == 14
    assert_none_decreased(counters(after), counters(again))


def test_worker_killed_loses_nothing_and_replacement_counts(nginx_factory):
    ng = nginx_factory(config(), workers=2)
    hit(ng, n=40)
    before = scrape(ng)
    for _ in range(2):
        ng.kill_worker(signal.SIGKILL)
    after = scrape(ng)
    assert after.value("nginx_http_requests_total", server="site", location="/",
                       method="GET", status="2xx") == 40
    assert_none_decreased(counters(before), counters(after))
    hit(ng, n=10)
    assert scrape(ng).value("nginx_http_requests_total", server="site", location="/",
                            method="GET", status="2xx") == 50


def test_killed_worker_does_not_leave_phantom_in_flight(nginx_factory, upstream):
    ng = nginx_factory(config(locations=f"location /slow/ {{ proxy_pass http://127.0.0.1:{upstream.port}/delay/; }}"),
                       workers=1)
    def slow_request():
        try:
            ph.http_get(ng.url("http", "/slow/3000"), timeout=30)
        except (ConnectionError, OSError):
            pass  # its worker is killed under it

    t = threading.Thread(target=slow_request)
    t.start()
    try:
        ph.wait_for(lambda: any("/delay/" in r[1] for r in upstream.requests),
                    message="the slow request reached the upstream")
        ng.kill_worker(signal.SIGKILL)  # the request dies with it
        ph.wait_for(lambda: scrape(ng).value("nginx_http_requests_in_flight", server="site") == 0,
                    message="in-flight back to 0 after the worker died")
    finally:
        t.join()


def test_spent_budget_folds_into_overflow_and_requests_succeed(nginx_factory):
    locations = "\n".join(f"location /l{i}/ {{ return 200 'ok'; }}" for i in range(20))
    ng = nginx_factory(config(extra="pulse_max_series 8;", locations=locations), workers=1)
    for i in range(20):
        hit(ng, f"/l{i}/x")
    e = scrape(ng)
    assert e.value("nginx_pulse_series") <= 8
    assert e.value("nginx_pulse_series_dropped_total") > 0
    over = dict(server="__overflow__", location="__overflow__", method="__overflow__",
                status="__overflow__")
    named = e.total("nginx_http_requests_total") - e.get("nginx_http_requests_total", 0, **over)
    assert named + e.value("nginx_http_requests_total", **over) == 20
    assert e.value("nginx_http_requests_total", **over) > 0
    rc, out = ph.promtool_check_metrics(e.text)
    assert rc == 0, out


def test_full_zone_degrades_to_overflow_not_to_failed_requests(nginx_factory):
    # Budget far above what 128k can hold: memory runs out first.
    locations = "\n".join(f"location /l{i}/ {{ return 200 'ok'; }}" for i in range(400))
    ng = nginx_factory(config(zone="128k", extra="pulse_max_series 100000;", locations=locations),
                       workers=1)
    for i in range(400):
        hit(ng, f"/l{i}/x")
    e = scrape(ng)
    assert e.value("nginx_pulse_series_dropped_total") > 0
    assert e.total("nginx_http_requests_total") == 400
    assert e.total("nginx_http_request_duration_seconds_count") == 400
    assert ng.crashed_workers() == []
    assert "no memory" in ng.error_log()  # nginx's slab says so, naming the zone
    assert 'pulse_zone "pulse"' in ng.error_log()


def test_zone_too_small_for_its_workers_is_a_clear_startup_error(nginx_factory):
    ng = nginx_factory(config(zone="128k"), workers=40, start=False)
    rc, out = ng.test_config()
    assert rc != 0
    assert 'pulse_zone "pulse" is too small' in out
