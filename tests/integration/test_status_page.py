"""The sidecar's status page (GET /) in Debian's headless Chromium while nginx is under load:
the numbers the page shows are the ones of the /signals answer it read, the sparklines have
points from GET /history, the console stays empty (no error, no CSP refusal), no connection
goes anywhere but loopback, the policy forbids anything from elsewhere, and a screenshot is
kept in build/monitoring for people to look at."""

import json
import threading
import time
from html.parser import HTMLParser

import pulse_harness as ph
from chromium_harness import PageLoad
from paced_load import paced

FAST = ("--interval", "200ms", "--window", "3s", "--stale-after", "1s")
NGINX = """
    pulse_zone pulse 1m;
    server {
        listen 127.0.0.1:@@http@@;
        server_name shop.example;
        location = /metrics { pulse_exporter; pulse_metrics off; }
        location / { return 200 "ok"; }
    }
    server {
        listen 127.0.0.1:@@admin@@;
        server_name "<b>admin</b>";
        location / { return 200 "ok"; }
    }
"""
CONFIG = """
sources:
  - name: queue
    url: {url}
    interval: 200ms
signals:
  - name: pulse_test_upstream_load
    expr: 'sum(pulse_test_upstream_requests_total)'
"""


class Cells(HTMLParser):
    """The value cells (data-value), the sparklines (data-points) and the body's attributes."""

    def __init__(self):
        super().__init__()
        self.values, self.sparks, self.body, self.text = [], [], {}, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if "data-signal" in a:
            self.values.append(a)
        if tag == "svg" and "data-points" in a:
            self.sparks.append(a)

    def handle_data(self, data):
        self.text.append(data)


def test_status_page_in_chromium_under_load(nginx_factory, sidecar_factory, upstream, tmp_path):
    ng = nginx_factory(NGINX)
    config = tmp_path / "pulse.yaml"
    config.write_text(CONFIG.format(url=upstream.url("/metrics")))
    sc = sidecar_factory(ng.url("http", "/metrics"), *FAST, "--config", str(config),
                         "--hpa-target", "pulse_requests_per_second=40")
    ph.wait_for(lambda: sc.get("/readyz")[0] == 200, message="sidecar ready")
    stop = threading.Event()
    # one request in three to the server whose name is markup
    loader = threading.Thread(target=paced, args=(
        [ng.url("admin", "/"), ng.url("http", "/"), ng.url("http", "/")], 60), kwargs={"stop": stop})
    loader.start()
    try:
        time.sleep(3)  # history: a few seconds of points under load
        status, headers, body = sc.get("/")
        assert status == 200 and headers.first("Content-Type").startswith("text/html")
        csp = headers.first("Content-Security-Policy")
        assert csp.startswith("default-src 'none'; script-src 'sha256-"), csp
        assert "connect-src 'self'" in csp and "unsafe" not in csp, csp
        page = body.decode() if isinstance(body, bytes) else body
        # Nothing loaded from elsewhere (the SVG namespace is a name, not a request).
        import re
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page), page
        assert "@import" not in page and "url(" not in page and "<link rel=\"stylesheet" not in page

        shown = PageLoad(sc.url("/"), tmp_path / "chromium")
        cells = Cells()
        cells.feed(shown.dom)
        assert shown.console() == [], shown.console()
        tcp, udp = shown.connections()
        assert tcp and all(a.startswith("127.0.0.1:") for a in tcp), tcp
        assert udp == [], udp
        origin = sc.url("/").rstrip("/")
        made = shown.responses(origin)
        assert {u.split(origin)[-1] for u, _ in made} >= {"/", "/history", "/signals", "/readyz"}
        for url, _ in made:
            assert url.startswith(origin + "/") or url.startswith("data:"), url

        # The numbers on the page are those of the /signals answer it rendered last.
        rendered = float(cells.body["data-timestamp"])
        answers = [json.loads(b) for u, b in made if u.endswith("/signals") and b]
        doc = next(d for d in answers if d["timestamp_unix"] == rendered)
        pod = {c["data-signal"]: float(c["data-value"]) for c in cells.values
               if c.get("data-scope") == "pod"}
        assert set(pod) == set(doc["pod"]), (pod, doc["pod"])
        for name, value in doc["pod"].items():
            assert pod[name] == value, (name, pod[name], value)
        servers = {(c["data-server"], c["data-signal"]): float(c["data-value"])
                   for c in cells.values if "data-server" in c}
        assert {s for s, _ in servers} == {"shop.example", "<b>admin</b>"}, doc["servers"].keys()
        for (server, name), value in servers.items():
            assert value == doc["servers"][server][name], (server, name)
        assert doc["pod"]["pulse_requests_per_second"] > 20  # under load
        # The server name with markup in it is text on the page, never markup.
        assert "<b>admin</b>" in "".join(cells.text)
        assert "&lt;b&gt;admin&lt;/b&gt;" in shown.dom
        assert any(c.get("data-config") == "pulse_test_upstream_load" for c in cells.values)
        assert "Ready" in "".join(cells.text)
        assert "40 /s" in "".join(cells.text)  # the HPA's target, with its unit

        # Sparklines drawn from the history, with points.
        assert cells.sparks and all(int(s["data-points"]) >= 5 for s in cells.sparks[:2]), \
            cells.sparks[:3]

        # A phone-sized picture for people to look at.
        picture = ph.build_dir() / "monitoring" / "status-page.png"
        picture.parent.mkdir(parents=True, exist_ok=True)
        PageLoad(sc.url("/"), tmp_path / "shot", window="412,915", screenshot=picture)
        assert picture.read_bytes().startswith(b"\x89PNG") and picture.stat().st_size > 10000
    finally:
        stop.set()
        loader.join()


def test_history_is_bounded_and_gaps_are_not_numbers(nginx_factory, sidecar_factory):
    ng = nginx_factory(NGINX)
    sc = sidecar_factory(ng.url("http", "/metrics"), *FAST)
    ph.wait_for(lambda: sc.get("/readyz")[0] == 200, message="sidecar ready")
    time.sleep(1)
    ng.stop()
    ph.wait_for(lambda: sc.get("/readyz")[0] == 503, message="stale")
    time.sleep(1)
    h = json.loads(sc.get("/history")[2])
    assert h["interval_seconds"] == 0.2 and h["span_seconds"] == 3600
    assert len(h["times"]) <= 3600
    rps = h["series"]["pod/pulse_requests_per_second"]
    assert len(rps) == len(h["times"])
    assert rps[-1] is None, rps[-5:]                     # stale: a gap
    assert any(v is not None for v in rps), rps          # before: numbers
    assert any("Connection refused" in e["error"] for e in h["errors"]), h["errors"]
