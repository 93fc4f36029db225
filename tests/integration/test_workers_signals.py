"""Signals from any Prometheus endpoint (docs/workers.md): pulse-sidecar run --config
scraping a real Redis's queue lengths through Debian's prometheus-redis-exporter, and the
module's own exporter (OpenMetrics, gzip), turning them into PromQL signals per job."""

import http.server
import subprocess
import json
import threading
import time

import pytest

import pulse_harness as ph
from workers_harness import parse_exposition

JOBS_WAITING = ('sum by (job) (label_replace(redis_key_size{key=~"queue:.+"}, '
                '"job", "$1", "key", "queue:(.+)"))')


def write_config(tmp_path, text, name="workers.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def redis_config(tmp_path, exporter_url, interval="300ms", extra_signals=""):
    return write_config(tmp_path, f"""
sources:
  - name: redis
    url: {exporter_url}
    interval: {interval}
signals:
  - name: pulse_jobs_waiting
    help: Jobs waiting in each queue.
    expr: '{JOBS_WAITING}'
  - name: pulse_jobs_waiting_total
    expr: sum(redis_key_size{{key=~"queue:.+"}})
{extra_signals}""")


def series_of(doc, signal):
    """{job: value} of a config signal in a /signals document."""
    entry = doc["config_signals"][signal]
    return {s["labels"].get("job", ""): s["value"] for s in entry["series"]}


def scraped_after(sidecar, source, t):
    """The first /signals document whose last scrape of `source` started after t."""
    def fresh():
        doc = sidecar.signals()
        s = doc["sources"][source]
        if s["last_scrape_unix"] is None:
            return None
        started = s["last_scrape_unix"] - s["duration_seconds"]
        return doc if started > t else None
    return ph.wait_for(fresh, message=f"a scrape of {source} after {t}")


@pytest.fixture
def config_sidecar(sidecar_factory):
    """config_sidecar(config_path, scrape="none", *flags) -> a started sidecar with --config."""
    def make(config, scrape="none", *args):
        return sidecar_factory(scrape, "--config", str(config), *args)
    return make


def metric_samples(sidecar):
    status, _, body = sidecar.get("/metrics")
    assert status == 200
    text = body.decode()
    return text, parse_exposition(text)


def values(samples, name):
    return {tuple(sorted(labels.items())): v for n, labels, v in samples if n == name}


def test_queue_lengths_become_a_signal_per_job(tmp_path, redis, redis_exporter, config_sidecar):
    redis.push("queue:emails", 3)
    redis.push("queue:thumbnails", 5)
    sidecar = config_sidecar(redis_config(tmp_path, redis_exporter.url))

    doc = scraped_after(sidecar, "redis", time.time())
    assert series_of(doc, "pulse_jobs_waiting") == {"emails": 3, "thumbnails": 5}
    assert series_of(doc, "pulse_jobs_waiting_total") == {"": 8}
    assert doc["config_signals"]["pulse_jobs_waiting"]["absent_reason"] is None
    assert doc["sources"]["redis"]["up"] is True
    assert doc["sources"]["redis"]["samples"] > 0
    # No nginx here: the sidecar is ready (nothing to take out of an ingress).
    assert sidecar.get("/readyz")[0] == 200

    # Each change is followed by the first scrape that starts after it.
    for op in (lambda: redis.pop("queue:emails", 2), lambda: redis.push("queue:thumbnails", 4),
               lambda: redis.push("queue:reports", 1)):
        op()
        doc = scraped_after(sidecar, "redis", time.time())
        expected = {q.split(":", 1)[1]: redis.llen(q)
                    for q in ("queue:emails", "queue:thumbnails", "queue:reports")
                    if redis.llen(q) > 0}
        assert series_of(doc, "pulse_jobs_waiting") == expected

    # /metrics: one series per job, and the source's health; promtool accepts it.
    text, samples = metric_samples(sidecar)
    assert values(samples, "pulse_jobs_waiting") == {
        (("job", "emails"),): 1, (("job", "reports"),): 1, (("job", "thumbnails"),): 9}
    assert values(samples, "pulse_source_up") == {(("source", "redis"),): 1}
    assert values(samples, "pulse_source_scrape_duration_seconds")[(("source", "redis"),)] > 0
    ph.promtool_check_metrics(text)


def test_target_labels_as_prometheus_adds_them(tmp_path, redis, redis_exporter,
                                               config_sidecar):
    redis.push("queue:emails", 2)
    config = write_config(tmp_path, f"""
sources:
  - name: redis
    url: {redis_exporter.url}
    interval: 300ms
signals:
  - name: pulse_emails_by_target
    expr: max by (job, instance) (redis_key_size{{job="redis", key="queue:emails"}})
""")
    sidecar = config_sidecar(config)
    doc = scraped_after(sidecar, "redis", time.time())
    series = doc["config_signals"]["pulse_emails_by_target"]["series"]
    assert series == [{"labels": {"instance": redis_exporter.address, "job": "redis"},
                       "value": 2}]


def test_a_source_that_fails_leaves_its_signals_absent(tmp_path, redis, redis_exporter,
                                                       config_sidecar):
    redis.push("queue:emails", 4)
    sidecar = config_sidecar(redis_config(tmp_path, redis_exporter.url))
    doc = scraped_after(sidecar, "redis", time.time())
    assert series_of(doc, "pulse_jobs_waiting") == {"emails": 4}

    redis_exporter.stop()
    doc = scraped_after(sidecar, "redis", time.time())
    for name in ("pulse_jobs_waiting", "pulse_jobs_waiting_total"):
        entry = doc["config_signals"][name]
        assert entry["series"] == [], entry  # never 0, never the old 4
        assert entry["absent_reason"].startswith("source redis is down"), entry
    assert doc["sources"]["redis"]["up"] is False
    assert doc["sources"]["redis"]["last_error"]
    _, samples = metric_samples(sidecar)
    assert values(samples, "pulse_jobs_waiting") == {}
    assert values(samples, "pulse_jobs_waiting_total") == {}
    assert values(samples, "pulse_source_up") == {(("source", "redis"),): 0}
    errors = values(samples, "pulse_source_scrape_errors_total")
    assert errors[(("reason", "transport"), ("source", "redis"))] > 0
    # The sidecar itself stays ready: a queue exporter does not take a pod out of service.
    assert sidecar.get("/readyz")[0] == 200

    # Back: the signal returns with the current number, not a spike or the old one.
    redis.push("queue:emails", 1)
    redis_exporter.start()
    doc = scraped_after(sidecar, "redis", time.time())
    assert series_of(doc, "pulse_jobs_waiting") == {"emails": 5}


def test_a_queue_that_empties_is_absent_with_check_keys_and_zero_with_single_keys(
        tmp_path, redis, redis_exporter_factory, config_sidecar):
    # Redis deletes an empty list, so -check-keys stops exporting it; -check-single-keys
    # exports a missing key as 0. docs/workers.md tells users to name their queues.
    exporter = redis_exporter_factory(redis, check_keys=(),
                                      check_single_keys=("queue:emails",))
    sidecar = config_sidecar(redis_config(tmp_path, exporter.url))
    redis.push("queue:emails", 1)
    doc = scraped_after(sidecar, "redis", time.time())
    assert series_of(doc, "pulse_jobs_waiting") == {"emails": 1}
    redis.pop("queue:emails", 1)
    doc = scraped_after(sidecar, "redis", time.time())
    assert series_of(doc, "pulse_jobs_waiting") == {"emails": 0}


class _Hostile(http.server.BaseHTTPRequestHandler):
    """A scrape target that answers what the test sets: garbage, an error status."""
    answer = (200, "text/plain; version=0.0.4", b"x 1\n")

    def do_GET(self):
        status, ctype, body = type(self).answer
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile_target():
    handler = type("Handler", (_Hostile,), {})
    server = http.server.ThreadingHTTPServer((ph.LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://{ph.LOOPBACK}:{server.server_address[1]}/metrics"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("answer, reason", [
    ((200, "text/plain; version=0.0.4", b"x{a=\"1\" 2\n"), "parse"),
    ((200, "text/plain; version=0.0.4", b"x 1\nx 2\n# TYPE x gauge\n"), "parse"),
    ((200, "application/openmetrics-text; version=1.0.0", b"x 1\n"), "parse"),  # no # EOF
    ((500, "text/plain", b"oops"), "http_status"),
    ((404, "text/plain", b"not here"), "http_status"),
])
def test_a_broken_target_is_down_with_its_reason(tmp_path, hostile_target, config_sidecar,
                                                 answer, reason):
    handler, url = hostile_target
    config = write_config(tmp_path, f"""
sources:
  - name: odd
    url: {url}
    interval: 300ms
signals:
  - name: pulse_x
    expr: sum(x)
""")
    sidecar = config_sidecar(config)
    doc = scraped_after(sidecar, "odd", time.time())
    assert doc["config_signals"]["pulse_x"]["series"] == [{"labels": {}, "value": 1}]
    handler.answer = answer
    doc = scraped_after(sidecar, "odd", time.time())
    entry = doc["config_signals"]["pulse_x"]
    assert entry["series"] == [] and "source odd is down" in entry["absent_reason"], entry
    _, samples = metric_samples(sidecar)
    assert values(samples, "pulse_source_scrape_errors_total")[
        (("reason", reason), ("source", "odd"))] > 0
    assert values(samples, "pulse_x") == {}


NGINX_HTTP = """
    gzip on;
    gzip_min_length 1;
    gzip_types text/plain application/openmetrics-text;
    pulse_zone pulse 4m;
    server {
        listen 127.0.0.1:@@main@@;
        location = /metrics { pulse_exporter; }
        location / { return 200 "ok\\n"; }
    }
"""


def test_openmetrics_and_gzip_from_the_module(tmp_path, nginx_factory, config_sidecar):
    """The module offers OpenMetrics and nginx gzips it: the sidecar asks for both, as
    Prometheus does, and reads counters by their _total samples either way."""
    nginx = nginx_factory(NGINX_HTTP)
    url = nginx.url("main", "/metrics")
    status, headers, _ = ph.http_get(url, headers={
        "Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        "Accept-Encoding": "gzip"})
    assert status == 200
    assert headers.first("Content-Type").startswith("application/openmetrics-text")
    assert headers.first("Content-Encoding") == "gzip"
    config = write_config(tmp_path, f"""
sources:
  - name: web
    url: {url}
    interval: 300ms
signals:
  - name: pulse_web_requests
    expr: sum(nginx_http_requests_total{{job="web"}})
""")
    sidecar = config_sidecar(config)
    for _ in range(7):
        assert ph.http_get(nginx.url("main", "/"))[0] == 200
    doc = scraped_after(sidecar, "web", time.time())
    [series] = doc["config_signals"]["pulse_web_requests"]["series"]
    assert series["value"] == 7  # the exporter's location does not count itself
    before = series["value"]
    for _ in range(3):
        assert ph.http_get(nginx.url("main", "/"))[0] == 200
    doc = scraped_after(sidecar, "web", time.time())
    [series] = doc["config_signals"]["pulse_web_requests"]["series"]
    assert series["value"] == before + 3


@pytest.mark.parametrize("body, message", [
    ("signals:\n  - name: pulse_a\n    expr: frobnicate(x)\n", "unknown function"),
    ("signals:\n  - name: pulse_a\n    expr: 'x{a=~\"(\"}'\n", "error parsing regexp"),
    ("signals:\n  - name: pulse_a\n    expr: x\n  - name: pulse_a\n    expr: y\n",
     "defined twice"),
    ("signals:\n  - name: pulse_a\n    expr: '{a=\"\"}'\n", "at least one non-empty matcher"),
    ("signals:\n  - name: pulse_a\n    expr: sum(x) +\n", "pulse_a"),
    ("sources:\n  - name: s\n    url: ftp://x/metrics\n", "not an http:// or https:// URL"),
    ("sources: [\n", "workers.yaml"),
])
def test_bad_configs_stop_the_start_with_a_clear_error(tmp_path, body, message):
    config = write_config(tmp_path, body)
    port = ph.free_port()
    proc = subprocess.run(
        [str(ph.sidecar_path()), "run", "--scrape", "none", "--config", str(config),
         "--listen", f"{ph.LOOPBACK}:{port}"],
        capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert "workers.yaml" in proc.stderr, proc.stderr
    assert not ph.port_open(port)


def test_signals_json_is_served_as_json(tmp_path, redis, redis_exporter, config_sidecar):
    sidecar = config_sidecar(redis_config(tmp_path, redis_exporter.url))
    status, headers, body = sidecar.get("/signals")
    assert status == 200 and headers.first("Content-Type") == "application/json"
    doc = json.loads(body)
    assert set(doc["config_signals"]) == {"pulse_jobs_waiting", "pulse_jobs_waiting_total"}
    assert doc["config_signals"]["pulse_jobs_waiting"]["window_seconds"] == 0
