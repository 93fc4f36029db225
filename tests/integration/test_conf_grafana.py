"""PromQL outside the rule files: the Grafana dashboard (conf/grafana), the
prometheus-adapter queries, and the PromQL in docs/migration.md and docs/operations.md.

Every expression must parse (promtool check rules, one recording rule per expression)
and must name only metrics pulse exports, or the few others on an explicit allow-list:
- `up`, which Prometheus itself writes for every target;
- kube-state-metrics' HPA series, the one external source (replicas, the HPA alerts),
  under its 2.x names and, for the workers, 1.9's (kube_hpa_*).
The dashboard may also name the signals of the workers' --config file
(conf/kubernetes/workers/jobs/workers.yaml), read from that file.
docs/migration.md may also name the metrics of the exporters it migrates from, each
checked against that exporter's public source (see OLD_METRICS).
"""

import json
import re
import subprocess
import tempfile

import pytest
import yaml

import pulse_harness as ph

DASHBOARD = ph.REPO_ROOT / "conf" / "grafana" / "pulse-dashboard.json"
ADAPTER_CONFIG = ph.REPO_ROOT / "conf" / "prometheus-adapter" / "config.yaml"
RECORDING_RULES = ph.REPO_ROOT / "conf" / "prometheus" / "rules" / "pulse-recording.yml"
WORKERS_CONFIG = ph.REPO_ROOT / "conf" / "kubernetes" / "workers" / "jobs" / "workers.yaml"
DOCS = [ph.REPO_ROOT / "docs" / "migration.md", ph.REPO_ROOT / "docs" / "operations.md"]

# -- what pulse exports (docs/metrics.md, docs/sidecar.md, docs/cache-policy.md; checked
#    against the sources below)
MODULE_COUNTERS = [
    "nginx_http_requests_total", "nginx_http_response_bytes_total",
    "nginx_http_request_bytes_total", "nginx_http_upstream_requests_total",
    "nginx_http_cache_policy_responses_total", "nginx_connections_accepted_total",
    "nginx_connections_handled_total", "nginx_pulse_series_dropped_total"]
MODULE_GAUGES = [
    "nginx_http_requests_in_flight", "nginx_http_websocket_connections", "nginx_connections",
    "nginx_connections_limit", "nginx_pulse_series", "nginx_pulse_series_limit",
    "nginx_pulse_shm_bytes", "nginx_pulse_info"]
MODULE_HISTOGRAMS = [
    "nginx_http_request_duration_seconds", "nginx_http_upstream_connect_seconds",
    "nginx_http_upstream_header_seconds", "nginx_http_upstream_response_seconds"]
SIDECAR_SIGNALS = [
    "pulse_requests_per_second", "pulse_requests_in_flight",
    "pulse_request_duration_p50_seconds", "pulse_request_duration_p95_seconds",
    "pulse_request_duration_p99_seconds", "pulse_upstream_duration_p95_seconds",
    "pulse_error_ratio", "pulse_connection_saturation", "pulse_websocket_connections"]
SIDECAR_OWN = [
    "pulse_scrape_duration_seconds", "pulse_scrape_errors_total", "pulse_scrape_age_seconds",
    "pulse_draining"]
# the sidecar's and the adapter's, per source of a --config file
SIDECAR_SOURCES = [
    "pulse_source_up", "pulse_source_scrape_duration_seconds", "pulse_source_scrape_errors_total"]

PULSE_METRICS = set(MODULE_COUNTERS + MODULE_GAUGES + SIDECAR_SIGNALS + SIDECAR_OWN + SIDECAR_SOURCES) | {
    f"{h}{suffix}" for h in MODULE_HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}


def config_signals():
    """The signals the workers' --config file defines (pulse_jobs_waiting, ...)."""
    return {s["name"] for s in yaml.safe_load(WORKERS_CONFIG.read_text())["signals"]}

# The allow-list: not pulse's, and deliberately used.
ALLOWED_EXTERNAL = {
    "up",  # Prometheus's own per-target series
    # kube-state-metrics (docs/metrics/workload/horizontalpodautoscaler-metrics.md)
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_horizontalpodautoscaler_status_desired_replicas",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_horizontalpodautoscaler_spec_min_replicas",
    # kube-state-metrics 1.9 (Kubernetes 1.19/1.20): the same series, label `hpa`
    "kube_hpa_status_current_replicas", "kube_hpa_status_desired_replicas", "kube_hpa_spec_max_replicas",
}

# The exporters docs/migration.md maps from, as their public sources name them:
# vozlt/nginx-module-vts src/ngx_http_vhost_traffic_status_display_prometheus.h,
# nginxinc/nginx-prometheus-exporter README.md "Metrics for NGINX OSS",
# kubernetes/ingress-nginx docs/user-guide/monitoring.md "Exposed metrics".
_H = ("_bucket", "_sum", "_count")
OLD_METRICS = {
    "vts": {"nginx_vts_info", "nginx_vts_start_time_seconds", "nginx_vts_main_connections",
            "nginx_vts_main_shm_usage_bytes", "nginx_vts_server_bytes_total",
            "nginx_vts_server_requests_total", "nginx_vts_status_code_requests_total",
            "nginx_vts_server_request_seconds_total", "nginx_vts_server_request_seconds",
            "nginx_vts_server_cache_total", "nginx_vts_filter_requests_total",
            "nginx_vts_upstream_bytes_total", "nginx_vts_upstream_requests_total",
            "nginx_vts_upstream_request_seconds_total", "nginx_vts_upstream_request_seconds",
            "nginx_vts_upstream_response_seconds_total", "nginx_vts_upstream_response_seconds",
            "nginx_vts_cache_requests_total"}
           | {f"nginx_vts_{h}{s}" for s in _H for h in (
               "server_request_duration_seconds", "upstream_request_duration_seconds",
               "upstream_response_duration_seconds", "filter_request_duration_seconds")},
    "nginx-prometheus-exporter": {
        "nginx_up", "nginx_connections_accepted", "nginx_connections_active",
        "nginx_connections_handled", "nginx_connections_reading", "nginx_connections_waiting",
        "nginx_connections_writing", "nginx_http_requests_total"},
    "ingress-nginx": {
        "nginx_ingress_controller_requests",
        "nginx_ingress_controller_nginx_process_connections",
        "nginx_ingress_controller_nginx_process_connections_total",
        "nginx_ingress_controller_nginx_process_requests_total",
        "nginx_ingress_controller_config_last_reload_successful"}
        | {f"nginx_ingress_controller_{h}{s}" for s in _H for h in (
            "request_duration_seconds", "response_duration_seconds", "header_duration_seconds",
            "connect_duration_seconds", "request_size", "response_size", "bytes_sent")},
}

# Grafana variables and their PromQL stand-ins.
GRAFANA_VARS = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h",
                "job": "pulse-nginx", "namespace": "shop", "server": "web",
                "instance": "10.0.0.5:9113", "hpa": "web", "worker_job": "emails"}


# ---------------------------------------------------------------------------
# PromQL helpers

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "inf", "nan", "atan2"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_TOKEN = re.compile(
    r"(?P<num>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:[smhdwy]|ms)?)"
    r"|(?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"|(?P<other>\S)")


def metric_names(expr):
    """Metric names an expression selects: identifiers that are not functions,
    keywords, label names (in braces or grouping lists) or parts of numbers/durations."""
    names = set(re.findall(r'__name__\s*=\s*"([^"]+)"', expr))
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^{}]*\}", "{}", text)          # label matchers
    text = re.sub(r"\[[^\[\]]*\]", "[]", text)        # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", text)
    text = re.sub(r"#.*", "", text)                   # comments
    tokens = [(m.lastgroup, m.group(), m.end()) for m in _TOKEN.finditer(text)]
    for kind, tok, end in tokens:
        if kind != "ident" or tok.lower() in KEYWORDS:
            continue
        if re.match(r"\s*\(", text[end:]):            # a function or an aggregation
            continue
        names.add(tok)
    return names


def promtool_parse(exprs):
    """Parse every expression with promtool; return {expr: error} for those that fail."""
    exprs = list(dict.fromkeys(exprs))
    rules = {"groups": [{"name": "parse", "rules": [
        {"record": f"parse:expr_{i}:check", "expr": e} for i, e in enumerate(exprs)]}]}
    failures = {}
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        f.write(json.dumps(rules))  # JSON is YAML
        f.flush()
        r = subprocess.run([str(ph.promtool()), "check", "rules", f.name],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=60)
    if r.returncode == 0:
        return {}
    # promtool names the failing rule by its position: "rule N" (1-based) or a parse error
    for m in re.finditer(r"group \"parse\", rule (\d+), \"[^\"]*\": (.*)", r.stdout):
        failures[exprs[int(m.group(1)) - 1]] = m.group(2)
    return failures or {"(promtool)": r.stdout}


def substitute_grafana(expr, values=None):
    values = GRAFANA_VARS if values is None else values

    def var(m):
        name = m.group("a") or m.group("b") or m.group("c")
        if name.isdigit():   # label_replace's "$1": Grafana has no such variable and leaves it
            return m.group(0)
        assert name in values, f"unknown Grafana variable ${name} in {expr!r}"
        return values[name]
    return re.sub(r"\$\{(?P<a>\w+)(?::\w+)?\}|\[\[(?P<b>\w+)\]\]|\$(?P<c>\w+)", var, expr)


def grafana_query_expr(query):
    """The PromQL of a Grafana Prometheus variable query (label_values(...), query_result)."""
    m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\)\s*", query)
    if m:
        return m.group(1)
    m = re.fullmatch(r"\s*query_result\((.*)\)\s*", query)
    if m:
        return m.group(1)
    assert not query.startswith(("label_values(", "metrics(", "label_names(")), query
    return query


# ---------------------------------------------------------------------------
# the helpers themselves


@pytest.mark.parametrize("expr,names", [
    ('sum by (le) (rate(nginx_http_request_duration_seconds_bucket{server=~"a|b"}[5m]))',
     {"nginx_http_request_duration_seconds_bucket"}),
    ("a_total / ignoring (state) b", {"a_total", "b"}),
    ('x > 0.5 and on (namespace, job) y > 1e-9', {"x", "y"}),
    ("clamp_min(sum(rate(z[1m])) by (pod), 1e-9) offset 5m", {"z"}),
    ('label_replace(up, "dst", "$1", "instance", "(.*):.*")', {"up"}),
    ('{__name__="foo_total", job="j"}', {"foo_total"}),
    ("histogram_quantile(0.95, sum(rate(h_bucket[5m:30s])) without (pod))", {"h_bucket"}),
    ("count(up == 1) - time() + vector(2) + scalar(q)", {"up", "q"}),
    ("rate(nginx_vts_server_requests_total{code!=\"total\"}[5m]) # a comment", {"nginx_vts_server_requests_total"}),
])
def test_metric_names_tokenizer(expr, names):
    assert metric_names(expr) == names


def test_promtool_parse_reports_the_bad_expression():
    good, bad = "sum(rate(x[5m]))", "sum(rate(x[5m])"
    assert promtool_parse([good]) == {}
    failures = promtool_parse([good, bad])
    assert list(failures) == [bad], failures


def test_unknown_metric_names_are_caught():
    assert metric_names("rate(nginx_http_reqests_total[5m])") - PULSE_METRICS == {
        "nginx_http_reqests_total"}


def test_the_pulse_list_is_what_the_code_exports():
    """Each name of the list is a quoted metric name in the module's, the sidecar's or their
    shared contract's sources (the list cannot grow names pulse does not have)."""
    sources = "".join(p.read_text(errors="replace")
                      for d in ("ngx_module", "common", "sidecar")
                      for p in (ph.REPO_ROOT / d).rglob("*")
                      if p.suffix in (".cpp", ".h", ".c"))
    for name in (MODULE_COUNTERS + MODULE_GAUGES + MODULE_HISTOGRAMS + SIDECAR_SIGNALS + SIDECAR_OWN
                 + SIDECAR_SOURCES):
        assert f'"{name}"' in sources, name


# ---------------------------------------------------------------------------
# the dashboard


def dashboard():
    return json.loads(DASHBOARD.read_text())


def all_panels(d):
    for p in d["panels"]:
        yield p
        yield from p.get("panels", [])


def dashboard_exprs(d):
    """(where, expr) for every PromQL of the dashboard, Grafana variables substituted."""
    out = []
    for p in all_panels(d):
        for t in p.get("targets", []):
            out.append((f"panel {p['title']!r} {t['refId']}", substitute_grafana(t["expr"])))
    for v in d["templating"]["list"]:
        if v["type"] == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            out.append((f"variable {v['name']}", substitute_grafana(grafana_query_expr(q))))
    return out


def test_dashboard_structure():
    d = dashboard()
    assert d["uid"] == "pulse-web" and 36 <= d["schemaVersion"] <= 39
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids, seen_grid = set(), []
    for p in all_panels(d):
        assert p["id"] not in ids, f"duplicate panel id {p['id']}"
        ids.add(p["id"])
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
        for other in seen_grid:  # panels do not overlap
            assert (g["x"] + g["w"] <= other["x"] or other["x"] + other["w"] <= g["x"]
                    or g["y"] + g["h"] <= other["y"] or other["y"] + other["h"] <= g["y"]), p["title"]
        seen_grid.append(g)
        if p["type"] == "row":
            continue
        assert p["type"] in {"timeseries", "stat", "heatmap", "piechart", "table"}, p["type"]
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["targets"], p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            assert t["datasource"] == p["datasource"] and t["expr"].strip(), p["title"]


def test_dashboard_covers_the_topics():
    d = dashboard()
    panels = [p for p in all_panels(d) if p["type"] != "row"]
    text = json.dumps([p["targets"] for p in panels])
    # request rate, status classes, latency heatmap and quantiles, cache-policy mix,
    # connections and saturation, the signals, replicas over time
    heatmaps = [p for p in panels if p["type"] == "heatmap"]
    assert heatmaps and all(t.get("format") == "heatmap" and "_bucket" in t["expr"]
                            for p in heatmaps for t in p["targets"])
    assert "sum by (status) (rate(nginx_http_requests_total" in text
    assert text.count("histogram_quantile(0.95") >= 2 and "histogram_quantile(0.99" in text
    assert "sum by (policy) (rate(nginx_http_cache_policy_responses_total" in text
    assert "nginx_connections_limit" in text and "sum by (state) (nginx_connections" in text
    for name in SIDECAR_SIGNALS + SIDECAR_OWN:
        assert name in text, name
    assert "kube_horizontalpodautoscaler_status_current_replicas" in text
    assert "kube_horizontalpodautoscaler_spec_max_replicas" in text


def test_dashboard_promql_parses_and_names_only_pulse_metrics():
    exprs = dashboard_exprs(dashboard())
    assert len(exprs) > 40
    assert promtool_parse([e for _, e in exprs]) == {}
    unknown = {where: metric_names(e) - PULSE_METRICS - ALLOWED_EXTERNAL - config_signals() for where, e in exprs}
    assert {k: v for k, v in unknown.items() if v} == {}
    for where, e in exprs:
        assert metric_names(e), f"{where}: no metric in {e!r}"


WORKERS_ROW = "Jobs waiting, per job"


def row_panels(d, title):
    """The panels under the row `title`, up to the next row."""
    out, inside = [], False
    for p in d["panels"]:
        if p["type"] == "row":
            inside = p["title"] == title
        elif inside:
            out.append(p)
    return out


def test_dashboard_workers_row():
    d = dashboard()
    assert [p["title"] for p in d["panels"] if p["type"] == "row"].count(WORKERS_ROW) == 1
    variables = {v["name"]: v for v in d["templating"]["list"]}
    # The job types: a variable of its own, since `job` is taken by nginx's scrape jobs.
    v = variables["worker_job"]
    assert v["type"] == "query" and v["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert v["query"]["query"] == v["definition"] == "label_values(pulse_jobs_waiting, job)"
    assert v["multi"] is True and v["includeAll"] is True and v["allValue"] == ".*"
    assert variables["job"]["query"]["query"] == "label_values(nginx_pulse_info, job)"
    # The label it lists is the one the config's signals keep and match on.
    config = yaml.safe_load(WORKERS_CONFIG.read_text())
    for s in config["signals"]:
        assert s["expr"].startswith("sum by (job) "), s["expr"]
        assert all(set(o["match"]) == {"job"} for o in s.get("objects", [])), s["name"]
    panels = row_panels(d, WORKERS_ROW)
    assert len(panels) >= 4
    exprs = {p["title"]: [t["expr"] for t in p["targets"]] for p in panels}
    for title, es in exprs.items():
        if "source" not in title.lower():        # the sources are not per job
            assert all("$worker_job" in e for e in es), title
    text = json.dumps(exprs)
    for name in ("pulse_jobs_waiting", "pulse_jobs_failed", "pulse_source_up",
                 "kube_horizontalpodautoscaler_status_current_replicas", "kube_hpa_status_current_replicas",
                 "kube_horizontalpodautoscaler_spec_max_replicas", "kube_hpa_spec_max_replicas"):
        assert name in text, name


# Two adapter replicas exporting the signals (job = the job type, as prometheus.yml stores
# them), kube-state-metrics 2.x for workers-emails and the web deploy, 1.9 for workers-reports.
WORKERS_INPUT = """
      - series: 'pulse_jobs_waiting{job="emails",namespace="pulse",pod="pulse-adapter-a"}'
        values: '7x10'
      - series: 'pulse_jobs_waiting{job="emails",namespace="pulse",pod="pulse-adapter-b"}'
        values: '7x10'
      - series: 'pulse_jobs_waiting{job="reports",namespace="pulse",pod="pulse-adapter-a"}'
        values: '3x10'
      - series: 'pulse_jobs_failed{job="emails",namespace="pulse",pod="pulse-adapter-a"}'
        values: '2x10'
      - series: 'pulse_jobs_failed{job="reports",namespace="pulse",pod="pulse-adapter-a"}'
        values: '0x10'
      - series: 'kube_horizontalpodautoscaler_status_current_replicas{job="kube-state-metrics",namespace="shop",horizontalpodautoscaler="workers-emails"}'
        values: '4x10'
      - series: 'kube_horizontalpodautoscaler_status_desired_replicas{job="kube-state-metrics",namespace="shop",horizontalpodautoscaler="workers-emails"}'
        values: '5x10'
      - series: 'kube_horizontalpodautoscaler_spec_max_replicas{job="kube-state-metrics",namespace="shop",horizontalpodautoscaler="workers-emails"}'
        values: '10x10'
      - series: 'kube_horizontalpodautoscaler_status_current_replicas{job="kube-state-metrics",namespace="shop",horizontalpodautoscaler="web"}'
        values: '6x10'
      - series: 'kube_hpa_status_current_replicas{job="kube-state-metrics",namespace="shop",hpa="workers-reports"}'
        values: '2x10'
      - series: 'kube_hpa_status_desired_replicas{job="kube-state-metrics",namespace="shop",hpa="workers-reports"}'
        values: '2x10'
      - series: 'kube_hpa_spec_max_replicas{job="kube-state-metrics",namespace="shop",hpa="workers-reports"}'
        values: '4x10'
      - series: 'pulse_source_up{job="pulse-adapter",namespace="pulse",pod="pulse-adapter-a",source="redis"}'
        values: '1x10'
      - series: 'pulse_source_up{job="pulse-adapter",namespace="pulse",pod="pulse-adapter-b",source="redis"}'
        values: '0x10'
"""

# panel title -> refId -> {job or source: value} for worker_job = All
WORKERS_EXPECTED = {
    "Jobs waiting per job": {"A": {"emails": 7, "reports": 3}},
    "Failed jobs per job": {"A": {"emails": 2, "reports": 0}},
    "Worker replicas": {"A": {"emails": 4, "reports": 2}, "B": {"emails": 5, "reports": 2},
                        "C": {"emails": 10, "reports": 4}},
    "Source up": {"A": {"redis": 0}},
}


@pytest.mark.parametrize("selected,jobs", [(".*", {"emails", "reports"}), ("emails", {"emails"}),
                                           ("(emails|reports)", {"emails", "reports"})],
                         ids=["all", "one", "two"])
def test_dashboard_workers_row_values(tmp_path, selected, jobs):
    """The row's queries, as Grafana sends them for All, one job and two jobs, give each
    job's numbers under its own `job` (both kube-state-metrics name sets; not the web
    deploy's HPA) in promtool."""
    panels = {p["title"]: p for p in row_panels(dashboard(), WORKERS_ROW)}
    assert set(WORKERS_EXPECTED) <= set(panels)
    cases = []
    for title, refs in WORKERS_EXPECTED.items():
        for t in panels[title]["targets"]:
            if t["refId"] not in refs:
                continue
            expr = substitute_grafana(t["expr"], dict(GRAFANA_VARS, worker_job=selected))
            by = "source" if title == "Source up" else "job"
            want = {k: v for k, v in refs[t["refId"]].items() if by == "source" or k in jobs}
            cases.append({"expr": f"max by ({by}) ({expr})", "eval_time": "5m",
                          "exp_samples": [{"labels": f'{{{by}="{k}"}}', "value": v} for k, v in sorted(want.items())]})
    (tmp_path / "empty.yml").write_text("groups: []\n")
    (tmp_path / "row_test.yml").write_text(
        "rule_files: [empty.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:"
        + WORKERS_INPUT + "    promql_expr_test: " + json.dumps(cases) + "\n")
    r = subprocess.run([str(ph.promtool()), "test", "rules", "row_test.yml"], cwd=tmp_path,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert r.returncode == 0, r.stdout


# ---------------------------------------------------------------------------
# prometheus-adapter


def test_adapter_queries_parse_and_name_only_pulse_metrics():
    rules = yaml.safe_load(ADAPTER_CONFIG.read_text())["rules"]
    exprs = []
    for rule in rules:
        series = re.match(r"^(\w+)\{", rule["seriesQuery"]).group(1)
        exprs.append(rule["seriesQuery"])
        exprs.append(rule["metricsQuery"]
                     .replace("<<.Series>>", series)
                     .replace("<<.LabelMatchers>>", 'namespace="shop",pod=~"web-1|web-2"')
                     .replace("<<.GroupBy>>", "pod"))
    assert promtool_parse(exprs) == {}
    for e in exprs:
        assert metric_names(e) and metric_names(e) <= PULSE_METRICS, e


# ---------------------------------------------------------------------------
# the docs


def doc_promql(path):
    """Expressions of the ```promql blocks: one a line; `#` lines are comments."""
    exprs, block = [], False
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("```"):  # fences may be indented in lists
            block = line.strip() == "```promql"
            continue
        if block and line.strip() and not line.lstrip().startswith("#"):
            exprs.append(line.strip())
    return exprs


def doc_inline_promql(path):
    """Inline code spans (outside fences) that are PromQL: a selector with braces or an
    expression with parentheses naming a metric (so `rate()` alone is prose)."""
    text = re.sub(r"^\s*```.*?^\s*```", "", path.read_text(), flags=re.S | re.M)
    return [span for span in re.findall(r"`([^`\n]+)`", text)
            if ("{" in span or "(" in span) and metric_names(span)]


def recorded_names():
    return {r["record"] for g in yaml.safe_load(RECORDING_RULES.read_text())["groups"]
            for r in g["rules"] if "record" in r}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_promql_parses_and_names_known_metrics(doc):
    exprs = doc_promql(doc)
    assert len(exprs) >= 3, f"{doc.name}: expected ```promql blocks"
    exprs += doc_inline_promql(doc)
    assert promtool_parse(exprs) == {}
    pulse = PULSE_METRICS | ALLOWED_EXTERNAL | recorded_names()
    for e in exprs:
        names = metric_names(e)
        assert names, e
        # a pulse expression, or one of a single exporter being migrated from; no mixing
        assert names <= pulse or any(names <= old for old in OLD_METRICS.values()), (
            f"{doc.name}: {e!r} names {sorted(names - pulse)}")


def test_migration_tables_name_real_metrics():
    """Every metric in the first column of the mapping tables exists in its exporter."""
    text = (ph.REPO_ROOT / "docs" / "migration.md").read_text()
    known = set().union(*OLD_METRICS.values())
    rows = re.findall(r"^\| `([a-z_:]+)`", text, flags=re.M)
    assert len(rows) >= 20
    assert sorted(set(rows) - known - PULSE_METRICS) == []
    for source, names in OLD_METRICS.items():
        assert set(rows) & names, f"no {source} metric in docs/migration.md"
