"""conf/prometheus and conf/prometheus-adapter, checked with Debian's promtool 2.42 and a
real Prometheus.

- Both scrape configs pass `promtool check config`. Debian builds Prometheus without
  Kubernetes service discovery (its NEWS.Debian: "Kubernetes support has been completely
  removed"), so for prometheus.yml the test replaces each `kubernetes_sd_configs` block,
  which must be exactly `- role: pod`, by a file_sd_configs that lists pods as
  Kubernetes discovery would (the same __meta_kubernetes_* labels), and checks that.
- A real Prometheus runs that config against real nginx (with the module) and
  pulse-sidecar: the relabeling keeps the right ports and labels the series, and the
  recording rules and prometheus-adapter queries give numbers.
- The rules pass `promtool check rules`, their unit tests (conf/prometheus/tests) pass,
  every alert is tested firing and not firing, every recording rule is tested, and the
  unit tests fail when an alert's threshold changes.
- Every prometheus-adapter metricsQuery, rendered for two pods, gives the expected
  values in a promtool unit test.
- The workers' alerts (rules/pulse-workers.yml) read the signals of the adapter's --config
  with their own `job` label (the job type): a real Prometheus with the scrape configs'
  metric_relabel_configs stores them so, for the sidecar's and the adapter's jobs.
"""

import copy
import json
import re
import shutil
import subprocess

import pytest
import yaml

import pulse_harness as ph

PROM_DIR = ph.REPO_ROOT / "conf" / "prometheus"
ADAPTER_CONFIG = ph.REPO_ROOT / "conf" / "prometheus-adapter" / "config.yaml"
RULE_FILES = [PROM_DIR / "rules" / "pulse-recording.yml", PROM_DIR / "rules" / "pulse-alerts.yml",
              PROM_DIR / "rules" / "pulse-workers.yml"]
ALERT_FILES = [PROM_DIR / "rules" / "pulse-alerts.yml", PROM_DIR / "rules" / "pulse-workers.yml"]
WORKERS_README = ph.REPO_ROOT / "conf" / "kubernetes" / "workers" / "README.md"
UNIT_TESTS = sorted((PROM_DIR / "tests").glob("*.yml"))
JOBS = ["pulse-nginx", "pulse-sidecar", "pulse-adapter"]

# The meta labels Kubernetes pod discovery sets (Prometheus docs, kubernetes_sd_config,
# role pod); <name> parts are any label name.
POD_META = re.compile(
    r"__meta_kubernetes_(namespace|pod_(name|ip|ready|phase|node_name|host_ip|uid|"
    r"controller_kind|controller_name|container_(init|name|image|port_name|port_number|"
    r"port_protocol)|(label|labelpresent|annotation|annotationpresent)_[a-zA-Z0-9_]+))$")


def promtool(*args, cwd=None):
    r = subprocess.run([str(ph.promtool()), *map(str, args)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120, cwd=cwd)
    return r.returncode, r.stdout


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def file_sd_variant(config, pods_file, rule_files=None):
    """prometheus.yml with each kubernetes_sd_configs (which must be [{role: pod}])
    replaced by a file_sd_configs reading pods_file."""
    config = copy.deepcopy(config)
    for job in config["scrape_configs"]:
        assert job.pop("kubernetes_sd_configs") == [{"role": "pod"}], job["job_name"]
        job["file_sd_configs"] = [{"files": [str(pods_file)]}]
    if rule_files is not None:
        config["rule_files"] = [str(p) for p in rule_files]
    return config


# ---------------------------------------------------------------------------
# scrape configs


def test_static_config_passes_promtool():
    rc, out = promtool("check", "config", PROM_DIR / "prometheus-static.yml")
    assert rc == 0, out
    assert "SUCCESS: 3 rule files found" in out, out
    jobs = [j["job_name"] for j in load_yaml(PROM_DIR / "prometheus-static.yml")["scrape_configs"]]
    assert jobs == ["pulse-nginx", "pulse-sidecar"]


def test_kubernetes_config_passes_promtool(tmp_path):
    path = PROM_DIR / "prometheus.yml"
    config = load_yaml(path)
    assert [j["job_name"] for j in config["scrape_configs"]] == JOBS

    # only documented pod-role meta labels, and the labels the rules rely on
    for job in config["scrape_configs"]:
        targets = set()
        for rule in job["relabel_configs"]:
            for label in rule.get("source_labels", []):
                assert POD_META.match(label), f"{job['job_name']}: unknown meta label {label}"
            targets.add(rule.get("target_label"))
        assert {"namespace", "pod", "container"} <= targets, job["job_name"]
        keep = [r for r in job["relabel_configs"] if r.get("action") == "keep"]
        assert keep and keep[0]["source_labels"] == ["__meta_kubernetes_pod_container_port_name"]
        assert keep[0]["regex"] == job["job_name"]  # the port name is the job name

    # Debian's promtool knows no kubernetes_sd_configs: that must be its only complaint
    rc, out = promtool("check", "config", path)
    if rc != 0:
        problems = [line for line in out.splitlines() if "line " in line]
        assert problems and all("field kubernetes_sd_configs not found" in p
                                for p in problems), out

    # with file discovery in its place, everything else is checked
    shutil.copytree(PROM_DIR / "rules", tmp_path / "rules")
    (tmp_path / "pods.json").write_text("[]")
    variant = tmp_path / "prometheus.yml"
    variant.write_text(json.dumps(file_sd_variant(config, tmp_path / "pods.json")))
    rc, out = promtool("check", "config", variant)
    assert rc == 0 and "SUCCESS: 3 rule files found" in out, out


# ---------------------------------------------------------------------------
# rules and their unit tests


def test_rules_pass_promtool():
    rc, out = promtool("check", "rules", *RULE_FILES)
    assert rc == 0, out
    assert ("SUCCESS: 13 rules found" in out and "SUCCESS: 7 rules found" in out
            and "SUCCESS: 4 rules found" in out), out


def test_rules_unit_tests_pass():
    assert [p.name for p in UNIT_TESTS] == ["alerts_test.yml", "recording_test.yml", "workers_test.yml"]
    rc, out = promtool("test", "rules", *UNIT_TESTS)
    assert rc == 0, out
    assert out.count("SUCCESS") == len(UNIT_TESTS), out


def rules_of(path, kind):
    return [r[kind] for g in load_yaml(path)["groups"] for r in g["rules"] if kind in r]


def test_every_alert_is_tested_firing_and_not_firing():
    alerts = [a for path in ALERT_FILES for a in rules_of(path, "alert")]
    assert sorted(alerts) == sorted({
        "PulseHighErrorRatio", "PulseLatencyP95OverObjective", "PulseScrapeTargetDown",
        "PulseSeriesDropped", "PulseSeriesBudgetNearlyFull", "PulseSignalsStale",
        "PulseHPAAtMaxReplicas",
        "PulseJobQueueGrowingAtMaxReplicas", "PulseJobsFailing", "PulseSourceDown",
        "PulseJobsSignalMissing"})
    firing, silent = set(), set()
    for path in UNIT_TESTS:
        for test in load_yaml(path)["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else silent).add(case["alertname"])
    assert set(alerts) - firing == set(), "alerts never tested firing"
    assert set(alerts) - silent == set(), "alerts never tested silent"


def test_every_recording_rule_is_tested():
    records = rules_of(PROM_DIR / "rules" / "pulse-recording.yml", "record")
    tested = " ".join(case["expr"] for path in UNIT_TESTS for test in load_yaml(path)["tests"]
                      for case in test.get("promql_expr_test", []))
    assert [r for r in records if not re.search(re.escape(r) + r"\b", tested)] == []


@pytest.mark.parametrize("rule_file,alert,old,new", [
    ("pulse-alerts.yml", "PulseHighErrorRatio", "server:nginx_http_error_ratio:rate5m > 0.05",
     "server:nginx_http_error_ratio:rate5m > 0.5"),
    ("pulse-alerts.yml", "PulseLatencyP95OverObjective", "p95_5m > 0.5", "p95_5m > 1"),
    ("pulse-alerts.yml", "PulseSignalsStale", 'up{job="pulse-sidecar"} == 1',
     'up{job="pulse-sidecar"}'),
    ("pulse-alerts.yml", "PulseHPAAtMaxReplicas", ">= on", "> on"),
    # websocket sessions counted as request latency
    ("pulse-recording.yml", "PulseLatencyP95OverObjective",
     'nginx_http_request_duration_seconds_bucket{location!="websocket"}',
     "nginx_http_request_duration_seconds_bucket"),
    # the workers: a threshold, the comparison with the maximum, each of the two
    # kube-state-metrics name sets, the failed list's growth, the source's `for`, the
    # missing signal of any HPA but a job's
    ("pulse-workers.yml", "PulseJobQueueGrowingAtMaxReplicas", "* 60 > 0", "* 60 > 5"),
    ("pulse-workers.yml", "PulseJobQueueGrowingAtMaxReplicas", ">= on (namespace, hpa)", "> on (namespace, hpa)"),
    ("pulse-workers.yml", "PulseJobQueueGrowingAtMaxReplicas",
     'kube_horizontalpodautoscaler_spec_max_replicas,\n              "job", "$1", "horizontalpodautoscaler", "workers-(.+)"',
     'kube_horizontalpodautoscaler_spec_max_replicas,\n              "job", "$1", "horizontalpodautoscaler", "(.+)"'),
    ("pulse-workers.yml", "PulseJobQueueGrowingAtMaxReplicas",
     'kube_hpa_spec_max_replicas,\n              "job", "$1", "hpa", "workers-(.+)"',
     'kube_hpa_spec_max_replicas,\n              "job", "$1", "hpa", "(.+)"'),
    ("pulse-workers.yml", "PulseJobsSignalMissing",
     '{hpa=~"workers-.+"},\n              "job", "$1", "hpa", "workers-(.+)"',
     '{hpa=~"workers-.+"},\n              "job", "$1", "hpa", "(.+)"'),
    ("pulse-workers.yml", "PulseJobsFailing", "max by (job) (pulse_jobs_failed",
     "sum by (job) (pulse_jobs_failed"),
    ("pulse-workers.yml", "PulseJobsFailing", "min_over_time(pulse_jobs_failed[15m])",
     "min_over_time(pulse_jobs_failed[20m])"),
    ("pulse-workers.yml", "PulseSourceDown", "for: 5m", "for: 2m"),
    ("pulse-workers.yml", "PulseJobsSignalMissing",
     'kube_horizontalpodautoscaler_spec_max_replicas{horizontalpodautoscaler=~"workers-.+"}',
     "kube_horizontalpodautoscaler_spec_max_replicas"),
], ids=lambda v: v if isinstance(v, str) and v.startswith("Pulse") else None)
def test_unit_tests_catch_a_changed_rule(tmp_path, rule_file, alert, old, new):
    """The unit tests have teeth: change a rule, and they fail."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    for path in RULE_FILES:
        text = path.read_text()
        if path.name == rule_file:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        (tmp_path / "rules" / path.name).write_text(text)
    for path in UNIT_TESTS:
        shutil.copy(path, tmp_path / "tests")
    rc, out = promtool("test", "rules", *sorted((tmp_path / "tests").glob("*.yml")))
    assert rc != 0 and f"alertname: {alert}" in out, out


def test_workers_alerts_runbooks_exist():
    """Each workers alert's runbook_url is a heading of conf/kubernetes/workers/README.md."""
    headings = {line[4:].strip().lower() for line in WORKERS_README.read_text().splitlines()
                if line.startswith("### ")}
    for group in load_yaml(PROM_DIR / "rules" / "pulse-workers.yml")["groups"]:
        for rule in group["rules"]:
            url = rule["annotations"]["runbook_url"]
            page, anchor = url.split("#")
            assert ph.REPO_ROOT / page == WORKERS_README, url
            assert anchor == rule["alert"].lower() and anchor in headings, url


# ---------------------------------------------------------------------------
# prometheus-adapter


ADAPTER_NAMES = {
    "pulse_requests_per_second", "pulse_requests_in_flight",
    "pulse_request_duration_p50_seconds", "pulse_request_duration_p95_seconds",
    "pulse_request_duration_p99_seconds", "pulse_upstream_duration_p95_seconds",
    "pulse_error_ratio", "pulse_connection_saturation", "pulse_websocket_connections"}


def adapter_rules():
    config = load_yaml(ADAPTER_CONFIG)
    assert set(config) == {"rules"}
    return config["rules"]


def render(rule, namespace, pods):
    """The query prometheus-adapter makes for these pods (its Go template, with << >>)."""
    series = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{", rule["seriesQuery"]).group(1)
    pod_matcher = f'pod="{pods[0]}"' if len(pods) == 1 else f'pod=~"{"|".join(pods)}"'
    query = (rule["metricsQuery"]
             .replace("<<.Series>>", series)
             .replace("<<.LabelMatchers>>", f'namespace="{namespace}",{pod_matcher}')
             .replace("<<.GroupBy>>", "pod"))
    assert "<<" not in query and ">>" not in query, query
    return query


def test_adapter_config_shape():
    rules = adapter_rules()
    names = [r["name"]["as"] for r in rules]
    assert sorted(names) == sorted(ADAPTER_NAMES) and len(names) == len(set(names))
    for rule in rules:
        assert set(rule) == {"seriesQuery", "resources", "name", "metricsQuery"}, rule
        assert rule["resources"] == {"overrides": {"namespace": {"resource": "namespace"},
                                                   "pod": {"resource": "pod"}}}
        assert 'namespace!=""' in rule["seriesQuery"] and 'pod!=""' in rule["seriesQuery"]
        series = re.match(r"^(\w+)\{", rule["seriesQuery"]).group(1)
        assert rule["name"]["matches"] == f"^{series}$"
        for var in ("<<.LabelMatchers>>", "<<.GroupBy>>"):
            assert var in rule["metricsQuery"], (rule["name"]["as"], var)
        assert re.findall(r"<<[^>]*>>", rule["metricsQuery"]) and set(
            re.findall(r"<<[^>]*>>", rule["metricsQuery"])) <= {
                "<<.Series>>", "<<.LabelMatchers>>", "<<.GroupBy>>"}


# web-1 busy (per 15 s scrape: 150 requests, 15 of them 5xx), web-2 idle, and a pod of
# the same name in another namespace that must not leak in
ADAPTER_INPUT = """
      - series: 'nginx_connections_limit{namespace="shop",pod="web-1"}'
        values: '8192x40'
      - series: 'nginx_connections_limit{namespace="shop",pod="web-2"}'
        values: '8192x40'
      - series: 'nginx_connections_limit{namespace="other",pod="web-1"}'
        values: '8192x40'
      - series: 'nginx_connections{namespace="shop",pod="web-1",state="active"}'
        values: '100x40'
      - series: 'nginx_connections{namespace="shop",pod="web-1",state="waiting"}'
        values: '90x40'
      - series: 'nginx_connections{namespace="shop",pod="web-2",state="active"}'
        values: '1x40'
      - series: 'nginx_connections{namespace="other",pod="web-1",state="active"}'
        values: '8000x40'
      - series: 'nginx_http_requests_total{namespace="shop",pod="web-1",server="web",location="/",method="GET",status="2xx"}'
        values: '0+135x40'
      - series: 'nginx_http_requests_total{namespace="shop",pod="web-1",server="web",location="/",method="GET",status="5xx"}'
        values: '0+15x40'
      - series: 'nginx_http_requests_total{namespace="shop",pod="web-2",server="web",location="/",method="GET",status="2xx"}'
        values: '7x40'
      - series: 'nginx_http_requests_total{namespace="other",pod="web-1",server="web",location="/",method="GET",status="5xx"}'
        values: '0+1000x40'
      - series: 'nginx_http_requests_in_flight{namespace="shop",pod="web-1",server="web"}'
        values: '3x40'
      - series: 'nginx_http_websocket_connections{namespace="shop",pod="web-1",server="web",location="websocket"}'
        values: '7x40'
      - series: 'nginx_http_request_duration_seconds_bucket{namespace="shop",pod="web-1",server="web",location="/",le="0.1"}'
        values: '0+75x40'
      - series: 'nginx_http_request_duration_seconds_bucket{namespace="shop",pod="web-1",server="web",location="/",le="0.5"}'
        values: '0+150x40'
      - series: 'nginx_http_request_duration_seconds_bucket{namespace="shop",pod="web-1",server="web",location="/",le="+Inf"}'
        values: '0+150x40'
      - series: 'nginx_http_request_duration_seconds_bucket{namespace="shop",pod="web-2",server="web",location="/",le="0.1"}'
        values: '7x40'
      - series: 'nginx_http_request_duration_seconds_bucket{namespace="shop",pod="web-2",server="web",location="/",le="+Inf"}'
        values: '7x40'
      - series: 'nginx_http_upstream_response_seconds_bucket{namespace="shop",pod="web-1",upstream="app",le="0.05"}'
        values: '0+150x40'
      - series: 'nginx_http_upstream_response_seconds_bucket{namespace="shop",pod="web-1",upstream="app",le="+Inf"}'
        values: '0+150x40'
"""

# signal -> (web-1, web-2); quantiles are compared rounded to 0.1 ms
ADAPTER_EXPECTED = {
    "pulse_requests_per_second": (10, 0),
    "pulse_error_ratio": (0.1, 0),
    "pulse_requests_in_flight": (3, 0),
    "pulse_request_duration_p50_seconds": (0.1, 0),
    "pulse_request_duration_p95_seconds": (0.46, 0),    # 0.1 + 0.4 * (9.5 - 5) / 5
    "pulse_request_duration_p99_seconds": (0.492, 0),
    "pulse_upstream_duration_p95_seconds": (0.0475, 0),
    "pulse_connection_saturation": (100 / 8192, 1 / 8192),
    "pulse_websocket_connections": (7, 0),
}


def test_adapter_queries_give_the_signals(tmp_path):
    cases = []
    for rule in adapter_rules():
        name = rule["name"]["as"]
        query = render(rule, "shop", ["web-1", "web-2"])
        if "quantile" in query:
            query = f"round({query}, 0.0001)"
        web1, web2 = ADAPTER_EXPECTED[name]
        cases.append({
            "expr": query, "eval_time": "9m",
            "exp_samples": [{"labels": '{pod="web-1"}', "value": web1},
                            {"labels": '{pod="web-2"}', "value": web2}]})
    (tmp_path / "empty.yml").write_text("groups: []\n")
    unit = ("rule_files: [empty.yml]\nevaluation_interval: 15s\ntests:\n"
            "  - interval: 15s\n    input_series:" + ADAPTER_INPUT
            + "    promql_expr_test: " + json.dumps(cases) + "\n")
    (tmp_path / "adapter_test.yml").write_text(unit)
    rc, out = promtool("test", "rules", "adapter_test.yml", cwd=tmp_path)
    assert rc == 0, out


# ---------------------------------------------------------------------------
# a real Prometheus with the Kubernetes config (pods listed as discovery would)

NGINX_BODY = """
    upstream app { server %s; keepalive 8; }
    pulse_zone pulse 4m;
    server {
        listen 127.0.0.1:@@app@@;
        server_name web;
        location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
    server {
        listen 127.0.0.1:@@metrics@@;
        pulse_metrics off;
        location = /metrics { pulse_exporter; allow 127.0.0.1; deny all; }
    }
"""


def pod_target(address, container, port_name, pod="web-1", phase="Running"):
    return {"targets": [address], "labels": {
        "__meta_kubernetes_namespace": "shop",
        "__meta_kubernetes_pod_name": pod,
        "__meta_kubernetes_pod_phase": phase,
        "__meta_kubernetes_pod_ready": "true",
        "__meta_kubernetes_pod_node_name": "node-a",
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": "web",
        "__meta_kubernetes_pod_container_name": container,
        "__meta_kubernetes_pod_container_port_name": port_name,
    }}


@pytest.fixture
def live_prometheus(tmp_path_factory):
    made = []

    def make(pods):
        prom = ph.Prometheus([], base=tmp_path_factory)
        pods_file = prom.dir / "pods.json"
        ph._write(pods_file, json.dumps(pods))
        config = file_sd_variant(load_yaml(PROM_DIR / "prometheus.yml"), pods_file, RULE_FILES)
        config["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s",
                            "evaluation_interval": "1s"}
        ph._write(prom.config_path, json.dumps(config, indent=2))
        prom.targets = [("pulse-nginx",), ("pulse-sidecar",)]  # wait_targets_up waits for 2
        made.append(prom)
        return prom.start()

    yield make
    for prom in made:
        prom.stop()
        print(f"--- {prom.log_path} (tail) ---\n{ph.tail(prom.log_path, 20)}")


def test_live_prometheus_discovers_pods_and_evaluates(nginx_factory, upstream, sidecar_factory,
                                                      live_prometheus):
    ng = nginx_factory(NGINX_BODY % upstream.address)
    sidecar = sidecar_factory(ng.url("metrics", "/metrics"))
    pods = [
        pod_target(f"127.0.0.1:{ng.port('metrics')}", "nginx", "pulse-nginx"),
        pod_target(f"127.0.0.1:{ng.port('app')}", "nginx", "http"),        # not a metrics port
        pod_target(f"127.0.0.1:{sidecar.port}", "pulse-sidecar", "pulse-sidecar"),
        pod_target("127.0.0.1:9", "nginx", "pulse-nginx", pod="web-0", phase="Pending"),
    ]
    prom = live_prometheus(pods)
    targets = prom.wait_targets_up()
    got = sorted((t["labels"]["job"], t["labels"]["namespace"], t["labels"]["pod"],
                  t["labels"]["container"], t["labels"]["app"]) for t in targets)
    assert got == [("pulse-nginx", "shop", "web-1", "nginx", "web"),
                   ("pulse-sidecar", "shop", "web-1", "pulse-sidecar", "web")]
    dropped = prom.api("targets", state="dropped")["droppedTargets"]
    assert {t["discoveredLabels"]["__address__"] for t in dropped} >= {
        f"127.0.0.1:{ng.port('app')}", "127.0.0.1:9"}

    def one(expr):
        result = prom.query(expr)
        return float(result[0]["value"][1]) if len(result) == 1 else None

    def traffic_then(expr):
        """Send a 200 and a 503 through nginx, then evaluate expr. A series is born with
        its first request, and rate() counts only what comes after its first sample, so
        traffic goes on until the rule has seen it."""
        def step():
            ph.http_get(ng.url("app", "/"))
            ph.http_get(ng.url("app", "/status/503"))
            return one(expr)
        return ph.wait_for(step, interval=0.25, message=expr)

    # recording rules over the module's series, labelled by the relabeling
    ratio = traffic_then('server:nginx_http_error_ratio:rate5m'
                         '{namespace="shop",job="pulse-nginx",server="web"}')
    assert 0 < ratio < 1
    assert one('server:nginx_http_requests:rate5m{namespace="shop",server="web"}') > 0
    assert ph.wait_for(lambda: one('instance:nginx_connections_saturation:ratio{pod="web-1"}'),
                       message="the saturation recording rule") > 0
    # the sidecar's signals carry the pod too
    assert ph.wait_for(lambda: prom.query('pulse_requests_in_flight{namespace="shop",'
                                          'pod="web-1",server=""}'),
                       message="the sidecar's signals") != []

    # prometheus-adapter's queries, as it would send them for this pod
    for rule in adapter_rules():
        query = render(rule, "shop", ["web-1"])
        result = ph.wait_for(lambda: prom.query(query), message=rule["name"]["as"])
        assert [r["metric"] for r in result] == [{"pod": "web-1"}], (rule["name"]["as"], result)
    assert one(render(next(r for r in adapter_rules()
                           if r["name"]["as"] == "pulse_requests_per_second"),
                      "shop", ["web-1"])) > 0


# ---------------------------------------------------------------------------
# a --config signal's own `job` label, through the scrape configs

# What pulse-sidecar run --config and pulse-sidecar adapter --config export beside their
# own metrics (docs: conf/kubernetes/workers/README.md).
CONFIG_SIGNALS_EXPOSITION = """\
# HELP pulse_jobs_waiting Jobs waiting in each queue.
# TYPE pulse_jobs_waiting gauge
pulse_jobs_waiting{job="emails"} 7
pulse_jobs_waiting{job="thumbnails"} 0
# HELP pulse_source_up Whether the last scrape of the source succeeded.
# TYPE pulse_source_up gauge
pulse_source_up{source="redis"} 1
# HELP pulse_source_scrape_errors_total Failed scrapes of the source.
# TYPE pulse_source_scrape_errors_total counter
pulse_source_scrape_errors_total{source="redis",reason="transport"} 2
"""


class ExpositionServer:
    """Serves one exposition text on a free loopback port, over HTTPS when given a
    certificate and key, in a thread of the test process."""

    def __init__(self, text, cert=None, key=None):
        import http.server
        import ssl
        import threading

        body = text.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = ph.free_port()
        self.server = http.server.ThreadingHTTPServer((ph.LOOPBACK, self.port), Handler)
        if cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(cert), str(key))
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"{ph.LOOPBACK}:{self.port}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_config_signals_keep_their_own_job_label(tmp_path):
    """A real Prometheus with prometheus.yml (pods listed as discovery would) scrapes a
    sidecar's and an adapter's exposition of --config signals: the signals keep their
    `job` (the job type, what the workers' rules and dashboard select), every other series
    its target's job. A job without the relabeling stores exported_job instead."""
    import certs

    made = certs.make_certs(tmp_path / "certs")
    plain = ExpositionServer(CONFIG_SIGNALS_EXPOSITION)
    tls = ExpositionServer(CONFIG_SIGNALS_EXPOSITION, made.server_cert, made.server_key)
    prom = None
    try:
        adapter_pod = pod_target(tls.address, "adapter", "pulse-adapter", pod="pulse-adapter-a")
        adapter_pod["labels"]["__meta_kubernetes_namespace"] = "pulse"
        pods = [pod_target(plain.address, "pulse-sidecar", "pulse-sidecar", pod="web-1"), adapter_pod]
        prom = ph.Prometheus([], base=tmp_path)
        pods_file = prom.dir / "pods.json"
        pods_file.write_text(json.dumps(pods))
        config = file_sd_variant(load_yaml(PROM_DIR / "prometheus.yml"), pods_file, RULE_FILES)
        config["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
        # the same sidecar job without its metric_relabel_configs, for contrast
        bare = copy.deepcopy(next(j for j in config["scrape_configs"] if j["job_name"] == "pulse-sidecar"))
        assert bare.pop("metric_relabel_configs")
        bare["job_name"] = "bare-sidecar"
        config["scrape_configs"].append(bare)
        prom.config_path.write_text(json.dumps(config, indent=2))
        prom.targets = [("pulse-sidecar",), ("pulse-adapter",), ("bare-sidecar",)]
        prom.start()
        prom.wait_targets_up()

        def series(expr):
            return ph.wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(prom.query(expr)),
                               message=expr)

        waiting = series("pulse_jobs_waiting")
        by_target = {}
        for r in waiting:
            by_target.setdefault(r["metric"]["pod"], []).append(r["metric"])
        assert len(waiting) == 6, waiting
        for m in by_target["web-1"]:
            if "exported_job" in m:                # the bare job
                assert m["job"] == "bare-sidecar" and m["exported_job"] in ("emails", "thumbnails"), m
            else:
                assert m["job"] in ("emails", "thumbnails") and m["namespace"] == "shop", m
        for m in by_target["pulse-adapter-a"]:
            assert "exported_job" not in m and m["job"] in ("emails", "thumbnails"), m
            assert (m["namespace"], m["container"]) == ("pulse", "adapter"), m
        counts = {r["metric"]["job"]: float(r["value"][1])
                  for r in prom.query("count by (job) (pulse_jobs_waiting)")}
        assert counts == {"emails": 2, "thumbnails": 2, "bare-sidecar": 2}, counts
        # what the rules read: the largest copy per job type
        emails = prom.query('max by (job) (pulse_jobs_waiting{job="emails"})')
        assert [(r["metric"], r["value"][1]) for r in emails] == [({"job": "emails"}, "7")]
        # series without a `job` of their own keep the target's
        up = {r["metric"]["job"] for r in series("pulse_source_up")}
        assert up == {"pulse-sidecar", "pulse-adapter", "bare-sidecar"}, up
        assert {r["metric"]["job"] for r in prom.query("up")} == up
        errors = prom.query('pulse_source_scrape_errors_total{job="pulse-adapter"}')
        assert [r["metric"]["reason"] for r in errors] == ["transport"], errors
    finally:
        if prom is not None:
            prom.stop()
            print(f"--- {prom.log_path} (tail) ---\n{ph.tail(prom.log_path, 20)}")
        plain.stop()
        tls.stop()
