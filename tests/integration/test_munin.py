"""`pulse-sidecar` as a munin plugin (the wildcard link pulse_HOST_PORT) served by Debian's
munin-node on loopback, against the real nginx with the module and a real sidecar with a
worker signal: the protocol answers field by field (server names with dots, dashes and
non-ASCII become names munin accepts, unique, the same on every run), then munin's master
(munin-update, munin-graph with rrdtool) stores the values and draws the graphs."""

import http.client
import re
import time

import pulse_harness as ph
from munin_harness import MuninMaster, MuninNode, copy_picture, multigraphs

FAST = ("--interval", "200ms", "--window", "3s", "--stale-after", "1s")
SERVERS = ["shop.example", "api-v2.example", "café.example"]

NGINX = """
    pulse_zone pulse 1m;
    server {
        listen 127.0.0.1:@@http@@;
        server_name shop.example;
        location = /metrics { pulse_exporter; pulse_metrics off; }
        location / { return 200 "ok"; }
        location /missing { return 404; }
    }
    server {
        listen 127.0.0.1:@@http@@;
        server_name api-v2.example;
        location / { return 200 "ok"; }
        location /broken { return 502; }
    }
    server {
        listen 127.0.0.1:@@http@@;
        server_name café.example;
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

FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def send(port, host, path, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(n):
        # the name as nginx.conf writes it, UTF-8 (http.client would send Latin-1)
        conn.request("GET", path, headers={"Host": host.encode()})
        conn.getresponse().read()
    conn.close()


def traffic(ng):
    port = ng.port("http")
    send(port, "shop.example", "/", 30)
    send(port, "shop.example", "/missing", 3)
    send(port, "api-v2.example", "/", 20)
    send(port, "api-v2.example", "/broken", 2)
    send(port, "café.example", "/", 10)


def fields_of(lines):
    """{field: {attribute: value}} of a graph's config or fetch lines."""
    out = {}
    for line in lines:
        key, _, value = line.partition(" ")
        if "." in key and not key.startswith("graph_"):
            field, attr = key.split(".", 1)
            out.setdefault(field, {})[attr] = value
    return out


def test_munin_node_serves_the_plugin_and_the_master_draws_it(
        nginx_factory, sidecar_factory, upstream, tmp_path):
    ng = nginx_factory(NGINX)
    config = tmp_path / "pulse.yaml"
    config.write_text(CONFIG.format(url=upstream.url("/metrics")))
    sc = sidecar_factory(ng.url("http", "/metrics"), *FAST, "--config", str(config))
    ph.wait_for(lambda: sc.get("/readyz")[0] == 200, message="sidecar ready")
    traffic(ng)
    ph.wait_for(lambda: sorted(sc.signals()["servers"]) == sorted(SERVERS),
                message="the sidecar sees the three servers")
    ph.wait_for(lambda: sc.signals()["config_signals"]["pulse_test_upstream_load"]["series"],
                message="the worker signal has a value")

    host, port = sc.url("").split("//")[1].rstrip("/").split(":")
    plugin = f"pulse_{host}_{port}"
    node = MuninNode({plugin: ph.sidecar_path()},
                     {"nginx": ng.url("http", "/metrics")}, base=tmp_path).start()
    try:
        s = node.session()
        assert s.banner == "# munin node at pod", s.banner
        assert "multigraph" in s.line("cap multigraph").split()
        assert s.line("list").split() == [plugin]
        config_lines = s.block(f"config {plugin}")
        fetch_lines = s.block(f"fetch {plugin}")
        s.close()

        config_graphs = multigraphs(config_lines)
        fetch_graphs = multigraphs(fetch_lines)
        assert set(config_graphs) == set(fetch_graphs), (config_graphs.keys(), fetch_graphs.keys())
        assert {"pulse_requests", "pulse_status", "pulse_latency", "pulse_in_flight",
                "pulse_saturation", "pulse_error_ratio",
                "pulse_signal_pulse_test_upstream_load"} <= set(config_graphs)
        for graph, lines in config_graphs.items():
            fields = fields_of(lines)
            values = fields_of(fetch_graphs[graph])
            assert fields.keys() == values.keys(), (graph, fields.keys(), values.keys())
            for name, attrs in fields.items():
                assert FIELD.match(name) and name != "root", (graph, name)
                assert attrs.get("label") and attrs.get("type") in ("GAUGE", "DERIVE"), attrs
            assert any(line.startswith("graph_title ") for line in lines), graph
            assert any(line.startswith("graph_category ") for line in lines), graph

        # One field per server, labelled with its name as written; counts as nginx counted.
        requests = fields_of(config_graphs["pulse_requests"])
        by_label = {attrs["label"]: name for name, attrs in requests.items()}
        assert sorted(by_label) == sorted(SERVERS), by_label
        assert len(set(by_label.values())) == 3
        counted = fields_of(fetch_graphs["pulse_requests"])
        assert float(counted[by_label["shop.example"]]["value"]) >= 33
        assert float(counted[by_label["api-v2.example"]]["value"]) == 22
        assert float(counted[by_label["café.example"]]["value"]) == 10
        for name in by_label.values():
            assert requests[name]["type"] == "DERIVE" and requests[name]["min"] == "0"
        status = fields_of(fetch_graphs["pulse_status"])
        assert float(status["class_4xx"]["value"]) == 3
        assert float(status["class_5xx"]["value"]) == 2
        assert float(status["class_2xx"]["value"]) >= 60

        latency = fields_of(config_graphs["pulse_latency"])
        assert latency["p95"]["warning"] == "0.5", latency
        assert fields_of(config_graphs["pulse_error_ratio"])["error_ratio"]["critical"] == "5"
        live = sc.signals()
        in_flight = fields_of(fetch_graphs["pulse_in_flight"])
        assert float(in_flight["in_flight"]["value"]) == live["pod"]["pulse_requests_in_flight"]
        load = fields_of(fetch_graphs["pulse_signal_pulse_test_upstream_load"])
        assert len(load) == 1 and float(next(iter(load.values()))["value"]) >= 0

        # munin's master: two updates (a DERIVE needs two), then the graphs.
        master = MuninMaster(node.port, base=tmp_path)
        master.update()
        traffic(ng)
        time.sleep(1)
        master.update()
        assert float(master.rrd_last("pulse_requests", by_label["api-v2.example"])) == 44
        assert master.rrd_last("pulse_latency", "p95") not in ("U", "")
        pngs = master.draw()
        names = {p.name for p in pngs}
        for graph in ("pulse_requests", "pulse_status", "pulse_latency", "pulse_in_flight",
                      "pulse_signal_pulse_test_upstream_load"):
            assert f"{graph}-day.png" in names, (graph, sorted(names))
        for png in pngs:
            data = png.read_bytes()
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000, png
        copy_picture(master.dir / "www/pulse/pod/pulse_requests-day.png", "munin-requests-day.png")
    finally:
        node.stop()
    assert "pulse munin plugin" not in node.log(), node.log()


def test_the_plugin_alone_answers_autoconf_suggest_and_unknown_values(tmp_path):
    import subprocess
    link = tmp_path / "pulse_127.0.0.1_9"
    link.symlink_to(ph.sidecar_path())
    r = subprocess.run([str(link), "autoconf"], stdout=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("no ("), r.stdout
    r = subprocess.run([str(link), "suggest"], stdout=subprocess.PIPE, text=True, timeout=30,
                       env={"sidecar": "http://127.0.0.1:9"})
    assert r.returncode == 0 and r.stdout == "", r.stdout
    # Nothing to read: the graphs that have fixed fields answer U, never 0 or old numbers.
    r = subprocess.run([str(link)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=30, env={"nginx": "http://127.0.0.1:9/metrics"})
    assert r.returncode == 0
    values = [line.split()[1] for line in r.stdout.splitlines() if ".value " in line]
    assert values and set(values) == {"U"}, r.stdout
    assert "Connection refused" in r.stderr
    r = subprocess.run([str(link), "bogus"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    assert r.returncode == 1 and "unknown argument" in r.stderr


def test_munin_thresholds_are_the_prometheus_alerts():
    """p95.warning and error_ratio.critical (asserted above from the plugin's config) are the
    numbers the alerting rules use: one set of thresholds for every tool."""
    import yaml
    rules = yaml.safe_load((ph.REPO_ROOT / "conf/prometheus/rules/pulse-alerts.yml").read_text())
    alerts = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert re.search(r"server:nginx_http_error_ratio:rate5m > 0\.05\b",
                     alerts["PulseHighErrorRatio"]), alerts["PulseHighErrorRatio"]
    assert re.search(r"p95_5m > 0\.5\b", alerts["PulseLatencyP95OverObjective"]), \
        alerts["PulseLatencyP95OverObjective"]
