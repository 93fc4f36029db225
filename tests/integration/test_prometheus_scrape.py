"""A real Prometheus (Debian's 2.42) scrapes the module's exporter: the target is up, and
PromQL over the module's series (rates, histogram_quantile, upstream counters) gives
numbers. The exporter answers Prometheus's OpenMetrics Accept header in OpenMetrics and
anything else in the text format 0.0.4."""

import math
import re
import threading

import pytest

import expo
import pulse_harness as ph

# what Prometheus 2.42 sends when it scrapes
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,"
                     "application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")

TRAFFIC = ["/delay/30", "/delay/120", "/status/503", "/", "/app/page?x=1", "/status/404"]


def http_body(upstream):
    return f"""
    upstream app {{ server {upstream.address}; }}
    pulse_zone pulse 4m;
    server {{
        listen 127.0.0.1:@@main@@;
        server_name scrape.test;
        location = /metrics {{ pulse_exporter; pulse_metrics off; }}
        location / {{ proxy_pass http://app; }}
    }}
    """


class Traffic:
    """Requests through nginx in a background thread until stopped."""

    def __init__(self, ng):
        self.ng = ng
        self.stopping = threading.Event()
        self.sent = 0
        self.failures = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self.stopping.is_set():
            path = TRAFFIC[i % len(TRAFFIC)]
            i += 1
            try:
                status, _, _ = ph.http_get(self.ng.url("main", path), timeout=30)
                expected = int(path.split("/")[2]) if path.startswith("/status/") else 200
                if status != expected:
                    self.failures.append((path, status))
                self.sent += 1
            except OSError as e:
                self.failures.append((path, repr(e)))
            self.stopping.wait(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=60)


@pytest.fixture
def nginx(nginx_factory, upstream):
    ng = nginx_factory(http_body(upstream))
    yield ng
    assert ng.crashed_workers() == []


def number(result):
    """The value of a one-element instant vector, or None while there is none."""
    if len(result) != 1:
        return None
    value = float(result[0]["value"][1])
    return value if math.isfinite(value) else None


def poll_query(prom, expr, traffic, timeout=60):
    last = {}

    def answered():
        if not traffic.thread.is_alive():
            raise ph.HarnessError("the traffic thread stopped")
        last["result"] = prom.query(expr)
        v = number(last["result"])
        return v if v is not None and v > 0 else None

    try:
        return ph.wait_for(answered, timeout=timeout, interval=0.5, message=expr)
    except ph.HarnessError as e:
        pytest.fail(f"{e}\nlast result: {last.get('result')}")


def test_prometheus_scrapes_the_exporter(nginx, prometheus_factory):
    with Traffic(nginx) as traffic:
        prom = prometheus_factory([("nginx", f"127.0.0.1:{nginx.port('main')}", "/metrics")])
        targets = prom.wait_targets_up(timeout=60)
        assert [t["health"] for t in targets] == ["up"], targets
        assert targets[0]["scrapeUrl"] == nginx.url("main", "/metrics")
        assert targets[0]["lastError"] == ""

        p95 = poll_query(prom, "histogram_quantile(0.95, sum by (le) "
                               "(rate(nginx_http_request_duration_seconds_bucket[30s])))",
                         traffic)
        assert 0 < p95 < math.inf
        total = poll_query(prom, "sum(nginx_http_requests_total)", traffic)
        assert total > 0
        errors = poll_query(prom, 'sum(nginx_http_upstream_requests_total{status="5xx"})',
                            traffic)
        assert errors > 0
        # the series carry the labels from the config
        by_upstream = prom.query('nginx_http_upstream_requests_total{status="5xx"}')
        assert [r["metric"].get("upstream") for r in by_upstream] == ["app"], by_upstream
        five = prom.query('nginx_http_requests_total{server="scrape.test",location="/",'
                          'method="GET",status="5xx"}')
        assert number(five) is not None and number(five) > 0, five
        # the upstream histograms were ingested too
        upstream_p95 = poll_query(prom, "histogram_quantile(0.95, sum by (le) "
                                        "(rate(nginx_http_upstream_response_seconds_bucket[30s])))",
                                  traffic)
        assert 0 < upstream_p95 < math.inf
        # Prometheus still finds the target healthy after all this
        assert [t["health"] for t in prom.active_targets()] == ["up"]
    assert traffic.failures == [], traffic.failures[:10]
    assert traffic.sent > 0


def scrape(ng, accept=None):
    headers = {"Accept": accept} if accept is not None else {}
    status, headers, body = ph.http_get(ng.url("main", "/metrics"), headers=headers)
    assert status == 200, body[:500]
    return headers.first("content-type", ""), body.decode("utf-8")


def make_traffic(ng):
    for path in TRAFFIC:
        ph.http_get(ng.url("main", path))


def test_openmetrics_for_prometheus_accept_header(nginx):
    make_traffic(nginx)
    ctype, body = scrape(nginx, PROMETHEUS_ACCEPT)
    assert ctype.startswith("application/openmetrics-text"), ctype
    assert "version=1.0.0" in ctype, ctype
    assert body.endswith("# EOF\n"), body[-200:]
    assert body.count("# EOF") == 1

    # counters are typed without their _total suffix, samples keep it
    assert "# TYPE nginx_http_requests_total counter" not in body
    assert "# TYPE nginx_http_requests counter\n" in body
    assert re.search(r"^nginx_http_requests_total\{", body, re.M)
    assert "# TYPE nginx_http_request_duration_seconds histogram\n" in body

    _, text = scrape(nginx)
    text_counters = re.findall(r"^# TYPE (\S+) counter$", text, re.M)
    om_counters = re.findall(r"^# TYPE (\S+) counter$", body, re.M)
    assert text_counters, text
    assert all(name.endswith("_total") for name in text_counters), text_counters
    assert sorted(om_counters) == sorted(n[: -len("_total")] for n in text_counters)
    # the other families are typed alike in both formats
    others = lambda t: sorted(re.findall(r"^# TYPE (\S+) (gauge|histogram)$", t, re.M))  # noqa: E731
    assert others(body) == others(text)


def test_text_format_without_accept_header(nginx):
    make_traffic(nginx)
    for accept in (None, "text/plain", "*/*", "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"):
        ctype, body = scrape(nginx, accept)
        assert ctype.startswith("text/plain; version=0.0.4"), (accept, ctype)
        assert "# EOF" not in body
        assert "# TYPE nginx_http_requests_total counter\n" in body

        e = expo.Exposition(body)
        assert e.total("nginx_http_requests_total", status="5xx") >= 1
        assert e.total("nginx_http_upstream_requests_total", upstream="app") >= len(TRAFFIC)
        rc, out = ph.promtool_check_metrics(body)
        assert (rc, out) == (0, ""), out
