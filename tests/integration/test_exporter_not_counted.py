"""A location with pulse_exporter does not count its own scrapes unless it says
`pulse_metrics on;` itself (issue 11): an idle pod reports no traffic, whoever scrapes it,
and every other location is counted as before."""

import time

import pulse_harness as ph
import expo

REQ = "nginx_http_requests_total"

NGINX = """
    pulse_zone pulse 1m;
    pulse_metrics on;
    server {
        listen 127.0.0.1:@@http@@;
        server_name exporter.test;
        location = /metrics { pulse_exporter; allow 127.0.0.1; deny all; }
        location = /counted { pulse_exporter; pulse_metrics on; }
        location = /read    { pulse_exporter; pulse_metrics off; }
        location = /denied  { pulse_exporter; deny all; }
        location /app/      { return 200 "app"; }
        location /quiet/    { pulse_metrics off; return 200 "quiet"; }
    }
    server {
        listen 127.0.0.1:@@loud@@;
        server_name loud.test;
        pulse_metrics on;
        location = /metrics {
            pulse_exporter;
            if ($arg_via_if) { set $pulse_test 1; }
        }
        location / { return 204; }
    }
"""


def read(ng):
    """The exposition through /read, a location that is explicitly not counted, once every
    request answered before is counted."""
    return expo.scrape(ng, "http", path="/read")


def scrape_ok(ng, port, path, n):
    for _ in range(n):
        status, headers, body = ph.http_get(ng.url(port, path))
        assert status == 200, body
        assert b"nginx_pulse_info{" in body


def test_exporter_location_does_not_count_its_own_scrapes(nginx_factory):
    ng = nginx_factory(NGINX)
    scrape_ok(ng, "http", "/metrics", 6)      # the README's location, nothing more
    scrape_ok(ng, "loud", "/metrics", 4)      # pulse_metrics on at http and server level
    scrape_ok(ng, "loud", "/metrics?via_if=1", 3)  # served from the location's if block
    # Refused requests of an exporter location are its requests too.
    assert ph.http_get(ng.url("http", "/metrics"), method="POST", data=b"x")[0] == 405
    assert ph.http_get(ng.url("http", "/denied"))[0] == 403
    for _ in range(5):
        assert ph.http_get(ng.url("http", "/app/x"))[0] == 200
    assert ph.http_get(ng.url("http", "/quiet/x"))[0] == 200
    for _ in range(2):
        assert ph.http_get(ng.url("loud", "/x"))[0] == 204
    scrape_ok(ng, "http", "/counted", 3)      # pulse_metrics on in the exporter location

    # The exporter's requests are counted when its LOG phase runs, after the answer and
    # outside the in-flight gauge: wait for the last ones, which came after all others.
    ph.wait_for(lambda: read(ng).total(REQ, location="= /counted") == 3,
                message="the scrapes of /counted to be counted")
    e = read(ng)
    counted = {(l["server"], l["location"], l["method"], l["status"]): v
               for l, v in e.series(REQ) if v}
    assert counted == {
        ("exporter.test", "/app/", "GET", "2xx"): 5,
        ("loud.test", "/", "GET", "2xx"): 2,
        ("exporter.test", "= /counted", "GET", "2xx"): 3,
    }, counted
    # No series at all for the uncounted exporter locations, in any family.
    assert "= /metrics" not in e.label_values()
    assert "= /read" not in e.label_values()
    assert "= /denied" not in e.label_values()
    assert "/quiet/" not in e.label_values()
    duration = "nginx_http_request_duration_seconds_count"
    assert e.value(duration, server="exporter.test", location="= /counted") == 3
    assert e.value(duration, server="exporter.test", location="/app/") == 5
    # A scrape is never in the in-flight gauge, counted or not.
    assert e.value("nginx_http_requests_in_flight", server="exporter.test") == 0
    assert e.value("nginx_http_requests_in_flight", server="loud.test") == 0

    # Still nothing for /metrics after more scrapes (and after the reads above).
    scrape_ok(ng, "http", "/metrics", 3)
    assert ph.http_get(ng.url("http", "/app/y"))[0] == 200
    ph.wait_for(lambda: read(ng).total(REQ, location="/app/") == 6,
                message="the last /app/ request to be counted")
    e = read(ng)
    assert e.total(REQ, location="= /metrics") == 0
    assert e.total(REQ, location="= /counted") == 3
    assert e.total(REQ) == 5 + 1 + 2 + 3
    assert ng.crashed_workers() == []


def test_readme_minimal_config_idle_pod_reports_zero_rate(nginx_factory, sidecar_factory):
    """The README's example, scraped by the sidecar every 200 ms and nothing else: the
    request rate is exactly 0, so an HPA on pulse_requests_per_second can see an idle pod."""
    ng = nginx_factory("""
    pulse_zone pulse 8m;
    server {
        listen 127.0.0.1:@@http@@;
        location = /metrics { pulse_exporter; allow 127.0.0.1; deny all; }
    }
    """)
    sc = sidecar_factory(ng.url("http", "/metrics"),
                         "--interval", "200ms", "--window", "3s", "--stale-after", "2s")
    ph.wait_for(lambda: sc.get("/readyz")[0] == 200, message="sidecar ready")

    # A full window of snapshots, each taken after the scrapes before it had ended.
    def full_window():
        s = sc.signals()
        return s if s["samples"] >= 10 and s["window_seconds"] >= 2.5 else None

    s = ph.wait_for(full_window, timeout=20, message="a full window of scrapes")
    time.sleep(0.5)
    s = sc.signals()
    assert s["stale"] is False, s
    assert s["pod"]["pulse_requests_per_second"] == 0, s
    for name, server in s["servers"].items():
        assert server["pulse_requests_per_second"] == 0, (name, s)
    m = expo.Exposition(sc.get("/metrics")[2])
    rates = m.series("pulse_requests_per_second")
    assert rates and all(v == 0 for _, v in rates), rates
    # The sidecar's scrapes reached nginx and were not counted.
    e = expo.Exposition(ph.http_get(ng.url("http", "/metrics"))[2])
    assert e.total(REQ) == 0
    assert ng.crashed_workers() == []
