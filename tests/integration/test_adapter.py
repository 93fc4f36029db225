"""`pulse-sidecar adapter`, the custom metrics API, against real sidecars scraping real
nginx instances with the module, a fake Kubernetes API over TLS (fake_kube_api.py), and
Debian's kubectl 1.20 as the client.

The cluster fixture (one per module): two nginx instances, each with two servers ("web"
and "admin") and different paced traffic, each scraped by its own sidecar; a fake API
with pods labelled app=web that point at those sidecars through the port annotation (and
pods that must be left out: terminating, pending, without IP, with a dead sidecar, with
a bad annotation), and the adapter.

Values are compared without flakiness: a sidecar's /signals is read before and after the
adapter's answer, and only when both reads come from the same scrape (same timestamp) is
the adapter's value compared, exactly, with it (else the read is repeated).
"""

import http.client
import json
import math
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse

import pytest

import pulse_harness as ph
from certs import make_certs
from fake_kube_api import AdapterProcess, FakeKubeApi, run_adapter_expecting_exit

V1 = "/apis/custom.metrics.k8s.io/v1beta1"
V2 = "/apis/custom.metrics.k8s.io/v1beta2"
SIGNAL_NAMES = [
    "pulse_requests_per_second", "pulse_requests_in_flight",
    "pulse_request_duration_p50_seconds", "pulse_request_duration_p95_seconds",
    "pulse_request_duration_p99_seconds", "pulse_upstream_duration_p95_seconds",
    "pulse_error_ratio", "pulse_connection_saturation", "pulse_websocket_connections",
]
# One scrape a second, so that a few reads usually fall between two scrapes.
STEADY = ("--interval", "1s", "--window", "4s", "--stale-after", "3s")
FAST = ("--interval", "200ms", "--window", "2s", "--stale-after", "1s")

NGINX = """
    pulse_zone pulse 1m;
    pulse_buckets 0.01 0.05 0.1 0.25 0.5 1;
    upstream app { server 127.0.0.1:UPSTREAM; }
    server {
        listen 127.0.0.1:@@http@@;
        server_name web;
        location = /metrics { pulse_exporter; pulse_metrics off; }
        location / { return 200 "ok"; }
        location /fail { return 503; }
        location /ws {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 1h;
        }
    }
    server {
        listen 127.0.0.1:@@admin@@;
        server_name admin;
        location / { return 200 "admin"; }
        location /fail { return 503; }
    }
"""


# ---------------------------------------------------------------------------
# helpers


def milli(value):
    """The adapter's quantity for a value: milli-units, half away from zero, 0 as "0"."""
    x = value * 1000.0
    m = int(math.copysign(math.floor(abs(x) + 0.5), x))
    return "0" if m == 0 else f"{m}m"


def rfc3339(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(math.floor(ts)))


def same_scrape(a, b):
    # The same scrape's timestamp, recomputed at each read: equal within clock jitter.
    return (a["timestamp_unix"] is not None and b["timestamp_unix"] is not None
            and abs(a["timestamp_unix"] - b["timestamp_unix"]) < 0.05)


def steady_read(sidecars, fetch, attempts=25):
    """fetch() between two reads of every sidecar's /signals that come from the same
    scrapes: returns (fetch's result, the readings). Retries when a scrape fell between."""
    for _ in range(attempts):
        before = [s.signals() for s in sidecars]
        result = fetch()
        after = [s.signals() for s in sidecars]
        if all(same_scrape(b, a) for b, a in zip(before, after)):
            return result, after
        time.sleep(0.05)
    raise AssertionError("a sidecar scraped during every attempt")


def paced(url, rate, stop):
    """GET url `rate` times a second over one keep-alive connection until stop is set."""
    parts = urllib.parse.urlsplit(url)
    n, start = 0, time.monotonic()
    conn = None
    while not stop.is_set():
        due = start + n / rate
        delay = due - time.monotonic()
        if delay > 0:
            stop.wait(delay)
            continue
        try:
            if conn is None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            conn.request("GET", parts.path)
            conn.getresponse().read()
        except OSError:
            conn = None
        n += 1
    if conn is not None:
        conn.close()


class Cluster:
    pass


def kubectl(cluster, *args, cert=True, token=None, rogue=False, server=None):
    certs = cluster.certs
    cmd = [str(ph.kubectl()), "--server", server or cluster.adapter.base_url,
           "--certificate-authority", str(certs.ca), "--request-timeout", "20s"]
    if rogue:
        cmd += ["--client-certificate", str(certs.rogue_cert), "--client-key", str(certs.rogue_key)]
    elif cert:
        cmd += ["--client-certificate", str(certs.client_cert), "--client-key", str(certs.client_key)]
    if token:
        cmd += ["--token", token]
    cmd += list(args)
    # An empty kubeconfig (no real cluster's config is read) and a private HOME (no cache
    # is written to the machine's).
    env = {"KUBECONFIG": "/dev/null", "HOME": str(cluster.home), "PATH": "/usr/bin:/bin"}
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60, env=env, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


def raw(cluster, path, **kw):
    """kubectl get --raw PATH: the parsed JSON (asserting success)."""
    rc, out, err = kubectl(cluster, "get", "--raw", path, **kw)
    assert rc == 0, f"kubectl get --raw {path}: rc {rc}\n{err}"
    return json.loads(out)


def by_name(doc):
    return {item["describedObject"]["name"]: item for item in doc["items"]}


def check_item_v2(item, pod, metric, reading, selector=None, server=None):
    assert set(item) == {"describedObject", "metric", "timestamp", "windowSeconds", "value"}, item
    assert item["describedObject"] == {"kind": "Pod", "namespace": "default", "name": pod,
                                       "apiVersion": "/v1"}
    assert item["metric"] == {"name": metric, "selector": selector}
    values = reading["servers"][server] if server else reading["pod"]
    assert item["value"] == milli(values[metric]), (item, values[metric])
    ts = reading["timestamp_unix"]
    assert item["timestamp"] in {rfc3339(ts - 0.05), rfc3339(ts + 0.05)}, (item, reading["timestamp"])
    assert isinstance(item["windowSeconds"], int)
    if metric in ("pulse_requests_in_flight", "pulse_websocket_connections",
                  "pulse_connection_saturation"):
        assert item["windowSeconds"] == 0
    else:
        assert item["windowSeconds"] == round(reading["window_seconds"])


# ---------------------------------------------------------------------------
# the cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster()
    c.home = tmp_path_factory.mktemp("kubectl-home")
    c.certs = make_certs(tmp_path_factory.mktemp("certs"))
    stop = threading.Event()
    started = []
    threads = []
    c.upstream = ph.Upstream().start()
    try:
        c.nginx, c.sidecars = [], []
        for _ in range(2):
            ng = ph.Nginx(tmp_path_factory, NGINX.replace("UPSTREAM", str(c.upstream.port)))
            started.append(ng)
            ng.start()
            sc = ph.Sidecar(ng.url("http", "/metrics"), *STEADY, base=tmp_path_factory)
            started.append(sc)
            sc.start()
            c.nginx.append(ng)
            c.sidecars.append(sc)
        for sc in c.sidecars:
            ph.wait_for(lambda: sc.get("/readyz")[0] == 200, message="sidecar ready")
        a, b = c.nginx
        # Different traffic: A 20/s of 200s on "web" and 4/s on "admin"; B only 503s, 6/s
        # on "web" and 2/s on "admin". Websockets: one open on A, two on B.
        for url, rate in ((a.url("http", "/"), 20), (a.url("admin", "/"), 4),
                          (b.url("http", "/fail"), 6), (b.url("admin", "/fail"), 2)):
            t = threading.Thread(target=paced, args=(url, rate, stop), daemon=True)
            t.start()
            threads.append(t)
        c.websockets = [ph.WebSocketClient(ph.LOOPBACK, a.port("http")),
                        ph.WebSocketClient(ph.LOOPBACK, b.port("http")),
                        ph.WebSocketClient(ph.LOOPBACK, b.port("http"))]

        c.kube = FakeKubeApi(c.certs.server_cert, c.certs.server_key,
                             namespaces=("default", "empty")).start()
        sa, sb = c.sidecars
        web = {"app": "web"}
        c.kube.add_pod("web-a", labels=web, sidecar_port=sa.port)
        c.kube.add_pod("web-b", labels=web, sidecar_port=sb.port)
        c.kube.add_pod("web-terminating", labels=web, sidecar_port=sa.port, terminating=True)
        c.kube.add_pod("web-pending", labels=web, sidecar_port=sa.port, phase="Pending")
        c.kube.add_pod("web-noip", labels=web, sidecar_port=sa.port, ip=None)
        c.kube.add_pod("web-dead", labels=web, sidecar_port=ph.free_port())  # nothing listens
        c.kube.add_pod("web-badport", labels=web, annotations={"pulse.dev/sidecar-port": "http"})
        c.kube.add_pod("other-b", labels={"app": "other"}, sidecar_port=sb.port)

        c.adapter = AdapterProcess(c.certs, c.kube, "--fetch-timeout", "2s",
                                   "--namespace-pod-selector", "app=web",
                                   dir=tmp_path_factory.mktemp("adapter"))
        c.adapter.start()
        ph.wait_for(lambda: c.adapter.request("/readyz", cert=False)[0] == 200, message="adapter ready")
        # Both windows hold traffic, and A's rate is the higher.
        ph.wait_for(lambda: sa.signals()["pod"]["pulse_requests_per_second"]
                    > sb.signals()["pod"]["pulse_requests_per_second"] > 0
                    and sb.signals()["pod"]["pulse_error_ratio"] == 1
                    and sa.signals()["pod"]["pulse_websocket_connections"] == 1
                    and sb.signals()["pod"]["pulse_websocket_connections"] == 2,
                    timeout=20, interval=0.2, message="traffic in both windows")
        yield c
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        for ws in getattr(c, "websockets", []):
            ws.close()
        if getattr(c, "adapter", None) is not None:
            c.adapter.stop()
            print(f"--- adapter log (tail) ---\n{ph.tail(c.adapter.log_path, 40)}")
        if getattr(c, "kube", None) is not None:
            c.kube.stop()
        for p in reversed(started):
            p.stop()
        c.upstream.stop()


# ---------------------------------------------------------------------------
# kubectl as the client


def test_kubectl_v1beta2_pods_list_shape_and_values(cluster):
    path = V2 + "/namespaces/default/pods/*/pulse_requests_per_second?labelSelector=app%3Dweb"
    doc, (ra, rb) = steady_read(cluster.sidecars, lambda: raw(cluster, path))
    assert set(doc) == {"kind", "apiVersion", "metadata", "items"}
    assert doc["kind"] == "MetricValueList"
    assert doc["apiVersion"] == "custom.metrics.k8s.io/v1beta2"
    assert doc["metadata"] == {}
    items = by_name(doc)
    # Running, with an IP, not terminating, with a sidecar that answers fresh numbers.
    assert set(items) == {"web-a", "web-b"}, doc
    check_item_v2(items["web-a"], "web-a", "pulse_requests_per_second", ra)
    check_item_v2(items["web-b"], "web-b", "pulse_requests_per_second", rb)
    assert ra["pod"]["pulse_requests_per_second"] > rb["pod"]["pulse_requests_per_second"] > 0
    # The pod list came from the API with the selector and the service account's token.
    seen = cluster.kube.requests_to("/api/v1/namespaces/default/pods")
    assert seen and seen[-1][1] == {"labelSelector": "app=web"}
    assert seen[-1][2] == f"Bearer {cluster.kube.token}"


def test_kubectl_v1beta1_shape_and_values(cluster):
    path = V1 + "/namespaces/default/pods/*/pulse_error_ratio?labelSelector=app%3Dweb"
    doc, (ra, rb) = steady_read(cluster.sidecars, lambda: raw(cluster, path))
    assert doc["kind"] == "MetricValueList"
    assert doc["apiVersion"] == "custom.metrics.k8s.io/v1beta1"
    assert doc["metadata"] == {}
    items = by_name(doc)
    assert set(items) == {"web-a", "web-b"}
    for name, reading in (("web-a", ra), ("web-b", rb)):
        item = items[name]
        # v1beta1's own field names: metricName, window, selector at the top of the item.
        assert set(item) == {"describedObject", "metricName", "timestamp", "window", "value", "selector"}
        assert item["describedObject"] == {"kind": "Pod", "namespace": "default", "name": name,
                                           "apiVersion": "/v1"}
        assert item["metricName"] == "pulse_error_ratio"
        assert item["selector"] is None
        assert item["value"] == milli(reading["pod"]["pulse_error_ratio"])
        assert item["window"] == round(reading["window_seconds"])
        ts = reading["timestamp_unix"]
        assert item["timestamp"] in {rfc3339(ts - 0.05), rfc3339(ts + 0.05)}
    assert items["web-a"]["value"] == "0"
    assert items["web-b"]["value"] == "1000m"  # B answers only 503s


def test_kubectl_discovery_documents(cluster):
    for prefix, version in ((V1, "v1beta1"), (V2, "v1beta2")):
        doc = raw(cluster, prefix)
        assert doc["kind"] == "APIResourceList"
        assert doc["apiVersion"] == "v1"
        assert doc["groupVersion"] == f"custom.metrics.k8s.io/{version}"
        resources = {r["name"]: r for r in doc["resources"]}
        assert len(resources) == 2 * len(SIGNAL_NAMES)
        for s in SIGNAL_NAMES:
            assert resources[f"pods/{s}"] == {"name": f"pods/{s}", "singularName": "", "namespaced": True,
                                              "kind": "MetricValueList", "verbs": ["get"]}
            assert resources[f"namespaces/{s}"]["namespaced"] is False
            assert resources[f"namespaces/{s}"]["kind"] == "MetricValueList"
            assert resources[f"namespaces/{s}"]["verbs"] == ["get"]
    group = raw(cluster, "/apis/custom.metrics.k8s.io")
    assert group["kind"] == "APIGroup" and group["preferredVersion"]["version"] == "v1beta2"


def openapi_refs(node):
    """Every $ref value under node."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from openapi_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from openapi_refs(value)


def test_kubectl_openapi_v2(cluster):
    # What kube-apiserver's aggregator fetches from every APIService's server and merges.
    doc = raw(cluster, "/openapi/v2")
    assert doc["swagger"] == "2.0" and doc["info"]["title"] and doc["info"]["version"]
    defs = doc["definitions"]
    for version in ("v1beta1", "v1beta2"):
        name = f"io.k8s.metrics.pkg.apis.custom_metrics.{version}.MetricValueList"
        assert defs[name]["x-kubernetes-group-version-kind"] == [
            {"group": "custom.metrics.k8s.io", "version": version, "kind": "MetricValueList"}]
        assert defs[name]["properties"]["items"]["items"]["$ref"] == (
            f"#/definitions/io.k8s.metrics.pkg.apis.custom_metrics.{version}.MetricValue")
    for name in ("io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricIdentifier",
                 "io.k8s.api.core.v1.ObjectReference", "io.k8s.apimachinery.pkg.api.resource.Quantity",
                 "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
                 "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"):
        assert name in defs, name
    refs = set(openapi_refs(doc))
    assert refs and all(r.startswith("#/definitions/") and r[len("#/definitions/"):] in defs for r in refs), refs
    # The API's GET routes, all under /apis/ (the only paths the aggregator keeps).
    assert set(doc["paths"]) == {"/apis/custom.metrics.k8s.io/"} | {
        f"/apis/custom.metrics.k8s.io/{v}/{p}" for v in ("v1beta1", "v1beta2")
        for p in ("", "namespaces/{namespace}/{resource}/{name}/{metric}",
                  "namespaces/{namespace}/metrics/{metric}", "{resource}/{name}/{metric}")}
    route = doc["paths"][V2 + "/namespaces/{namespace}/{resource}/{name}/{metric}"]
    assert route["get"]["responses"]["200"]["schema"]["$ref"] == (
        "#/definitions/io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricValueList")
    params = {p["name"]: p for p in route["parameters"]}
    assert set(params) == {"namespace", "resource", "name", "metric", "labelSelector", "metricLabelSelector"}
    assert params["metric"]["enum"] == SIGNAL_NAMES
    # The same document every time.
    assert raw(cluster, "/openapi/v2") == doc


def test_kubectl_single_pod_and_namespace_forms(cluster):
    sa, sb = cluster.sidecars
    doc, (ra,) = steady_read([sa], lambda: raw(
        cluster, V2 + "/namespaces/default/pods/web-a/pulse_request_duration_p95_seconds"))
    assert len(doc["items"]) == 1
    check_item_v2(doc["items"][0], "web-a", "pulse_request_duration_p95_seconds", ra)

    # Namespace: sums for websockets (1 + 2), the worst pod for the error ratio.
    doc = raw(cluster, V2 + "/namespaces/default/metrics/pulse_websocket_connections")
    assert len(doc["items"]) == 1
    item = doc["items"][0]
    assert item["describedObject"] == {"kind": "Namespace", "name": "default", "apiVersion": "/v1"}
    assert item["metric"] == {"name": "pulse_websocket_connections", "selector": None}
    assert item["value"] == "3000m"
    assert item["windowSeconds"] == 0
    doc = raw(cluster, V1 + "/namespaces/default/metrics/pulse_error_ratio")
    assert doc["items"][0]["value"] == "1000m"
    assert doc["items"][0]["describedObject"]["kind"] == "Namespace"
    doc, (ra, rb) = steady_read(cluster.sidecars, lambda: raw(
        cluster, V2 + "/namespaces/default/metrics/pulse_requests_per_second"))
    total = ra["pod"]["pulse_requests_per_second"] + rb["pod"]["pulse_requests_per_second"]
    assert doc["items"][0]["value"] == milli(total)
    assert doc["items"][0]["timestamp"] in {
        rfc3339(min(ra["timestamp_unix"], rb["timestamp_unix"]) + d) for d in (-0.05, 0.05)}


def test_kubectl_errors_come_back_as_status(cluster):
    rc, _, err = kubectl(cluster, "get", "--raw", V2 + "/namespaces/default/pods/*/pulse_nope")
    assert rc != 0 and "NotFound" in err and "pulse_nope" in err, err
    rc, _, err = kubectl(cluster, "get", "--raw",
                         V2 + "/namespaces/default/pods/*/pulse_requests_per_second"
                              "?metricLabelSelector=location%3D%2F")
    assert rc != 0 and "BadRequest" in err and "only server=NAME" in err, err


def test_kubectl_without_client_certificate_is_refused(cluster):
    path = V2 + "/namespaces/default/pods/*/pulse_requests_per_second"
    rc, out, err = kubectl(cluster, "get", "--raw", path, cert=False, token="anything")
    assert rc != 0 and out == ""
    assert "Unauthorized" in err, err
    # A certificate from another CA does not get through the handshake.
    rc, out, err = kubectl(cluster, "get", "--raw", path, rogue=True)
    assert rc != 0 and out == "", err


# ---------------------------------------------------------------------------
# the API through a plain HTTPS client (paths sent exactly as written)


def test_star_and_percent_2a_are_the_same(cluster):
    for star in ("*", "%2A", "%2a"):
        path = f"{V2}/namespaces/default/pods/{star}/pulse_requests_in_flight?labelSelector=app%3Dweb"
        (status, doc), (ra, rb) = steady_read(cluster.sidecars, lambda: cluster.adapter.get_json(path))
        assert status == 200, doc
        items = by_name(doc)
        assert set(items) == {"web-a", "web-b"}, (star, doc)
        check_item_v2(items["web-a"], "web-a", "pulse_requests_in_flight", ra)
        check_item_v2(items["web-b"], "web-b", "pulse_requests_in_flight", rb)


def test_label_selector_is_passed_to_the_kubernetes_api(cluster):
    status, doc = cluster.adapter.get_json(
        f"{V2}/namespaces/default/pods/*/pulse_websocket_connections?labelSelector=app%3Dother")
    assert status == 200
    items = by_name(doc)
    assert set(items) == {"other-b"} and items["other-b"]["value"] == "2000m"
    # No selector: every pod of the namespace (the ones that answer fresh numbers).
    status, doc = cluster.adapter.get_json(f"{V2}/namespaces/default/pods/*/pulse_websocket_connections")
    assert set(by_name(doc)) == {"web-a", "web-b", "other-b"}
    # A selector the API rejects is the client's mistake: 400 with the API's message.
    status, doc = cluster.adapter.get_json(
        f"{V2}/namespaces/default/pods/*/pulse_websocket_connections?labelSelector=app%3D%3D%3D")
    assert status == 400 and doc["reason"] == "BadRequest" and "unable to parse" in doc["message"], doc


def test_metric_label_selector_server(cluster):
    sa, sb = cluster.sidecars
    path = (f"{V2}/namespaces/default/pods/*/pulse_requests_per_second"
            "?labelSelector=app%3Dweb&metricLabelSelector=server%3Dadmin")
    (status, doc), (ra, rb) = steady_read(cluster.sidecars, lambda: cluster.adapter.get_json(path))
    assert status == 200, doc
    items = by_name(doc)
    assert set(items) == {"web-a", "web-b"}
    selector = {"matchLabels": {"server": "admin"}}
    check_item_v2(items["web-a"], "web-a", "pulse_requests_per_second", ra, selector, server="admin")
    check_item_v2(items["web-b"], "web-b", "pulse_requests_per_second", rb, selector, server="admin")
    assert ra["servers"]["admin"]["pulse_requests_per_second"] != ra["pod"]["pulse_requests_per_second"]
    # v1beta1 carries the selector at the item's top.
    status, doc = cluster.adapter.get_json(path.replace(V2, V1))
    assert all(i["selector"] == selector for i in doc["items"]) and len(doc["items"]) == 2
    # A server no pod has, and a signal that exists for the pod only: no items.
    for p in (path.replace("server%3Dadmin", "server%3Dnope"),
              path.replace("pulse_requests_per_second", "pulse_connection_saturation")):
        status, doc = cluster.adapter.get_json(p)
        assert status == 200 and doc["items"] == [], doc
    # Single pod with a server it does not have: 404.
    status, doc = cluster.adapter.get_json(
        f"{V2}/namespaces/default/pods/web-a/pulse_requests_per_second?metricLabelSelector=server%3Dnope")
    assert status == 404 and doc["reason"] == "NotFound", doc


@pytest.mark.parametrize("selector", ["location%3D%2F", "server", "server!%3Dweb", "server%20in%20(a)",
                                      "server%3Da,x%3Db"])
def test_bad_metric_label_selector_is_400(cluster, selector):
    status, headers, body = cluster.adapter.request(
        f"{V2}/namespaces/default/pods/*/pulse_requests_per_second?metricLabelSelector={selector}")
    doc = json.loads(body)
    assert status == 400 and headers["content-type"] == "application/json"
    assert doc == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": doc["message"], "reason": "BadRequest", "code": 400}
    assert "only server=NAME" in doc["message"]


def status_of(cluster, path):
    status, doc = cluster.adapter.get_json(path)
    assert doc["kind"] == "Status" and doc["apiVersion"] == "v1" and doc["status"] == "Failure"
    assert doc["code"] == status and doc["metadata"] == {}
    return status, doc["reason"], doc["message"]


def test_not_found_answers(cluster):
    assert status_of(cluster, f"{V2}/namespaces/default/pods/*/pulse_nope") == (
        404, "NotFound", "the server could not find the metric pulse_nope for pods")
    assert status_of(cluster, f"{V1}/namespaces/default/pods/web-a/pulse_nope") == (
        404, "NotFound", "the server could not find the metric pulse_nope for pods web-a")
    assert status_of(cluster, f"{V2}/namespaces/default/metrics/pulse_nope")[0] == 404
    assert status_of(cluster, f"{V2}/namespaces/default/pods/web-zzz/pulse_error_ratio") == (
        404, "NotFound", 'pods "web-zzz" not found')
    assert status_of(cluster, f"{V2}/namespaces/nowhere/pods/*/pulse_error_ratio") == (
        404, "NotFound", 'namespaces "nowhere" not found')
    assert status_of(cluster, f"{V2}/namespaces/nowhere/metrics/pulse_error_ratio")[:2] == (404, "NotFound")
    assert status_of(cluster, "/apis/custom.metrics.k8s.io/v9")[:2] == (404, "NotFound")
    assert status_of(cluster, "/apis/other.k8s.io/v1")[:2] == (404, "NotFound")
    # An existing namespace without pods: an empty list, and no namespace value.
    status, doc = cluster.adapter.get_json(f"{V2}/namespaces/empty/pods/*/pulse_error_ratio")
    assert status == 200 and doc["items"] == []
    assert status_of(cluster, f"{V2}/namespaces/empty/metrics/pulse_error_ratio")[:2] == (404, "NotFound")


def test_pods_that_are_left_out(cluster):
    for pod, why in (("web-terminating", "terminating"), ("web-pending", "not running (phase Pending)"),
                     ("web-noip", "has no IP"), ("web-dead", "did not answer"),
                     ("web-badport", "not a port number")):
        code, reason, message = status_of(cluster, f"{V2}/namespaces/default/pods/{pod}/pulse_error_ratio")
        assert (code, reason) == (404, "NotFound"), message
        assert message.startswith(f"the server could not find the metric pulse_error_ratio for pods {pod}: ")
        assert why in message, message
    # The list form leaves them out and still answers for the others.
    status, doc = cluster.adapter.get_json(f"{V2}/namespaces/default/pods/*/pulse_error_ratio?labelSelector=app%3Dweb")
    assert status == 200 and set(by_name(doc)) == {"web-a", "web-b"}


def test_many_pods_on_one_sidecar(cluster):
    # More pods than the sidecar has threads: the reads must not hold its connections.
    sa = cluster.sidecars[0]
    names = [f"many-{i:02d}" for i in range(20)]
    for name in names:
        cluster.kube.add_pod(name, labels={"app": "many"}, sidecar_port=sa.port)
    try:
        for _ in range(3):
            status, doc = cluster.adapter.get_json(
                f"{V2}/namespaces/default/pods/*/pulse_websocket_connections?labelSelector=app%3Dmany")
            assert status == 200 and sorted(by_name(doc)) == names, doc
            assert {i["value"] for i in doc["items"]} == {"1000m"}
    finally:
        for name in names:
            cluster.kube.remove_pod(name)


def test_api_needs_a_verified_client_certificate(cluster):
    for path in (V2, f"{V2}/namespaces/default/pods/*/pulse_requests_per_second", "/apis", "/"):
        status, headers, body = cluster.adapter.request(path, cert=False,
                                                        headers={"X-Remote-User": "mallory"})
        assert status == 401, (path, body)
        doc = json.loads(body)
        assert doc["kind"] == "Status" and doc["reason"] == "Unauthorized" and doc["code"] == 401
        assert doc["status"] == "Failure" and doc["apiVersion"] == "v1"
    # A certificate signed by another CA is refused during the handshake.
    with pytest.raises((ssl.SSLError, ConnectionError)):
        cluster.adapter.request(V2, rogue=True)
    # Only GET.
    status, headers, body = cluster.adapter.request(V2, method="POST")
    assert status == 405 and json.loads(body)["reason"] == "MethodNotAllowed"


def test_openapi_v2_needs_a_verified_client_certificate(cluster):
    status, headers, body = cluster.adapter.request("/openapi/v2", cert=False)
    doc = json.loads(body)
    assert status == 401 and doc["kind"] == "Status" and doc["reason"] == "Unauthorized", body
    rc, out, err = kubectl(cluster, "get", "--raw", "/openapi/v2", cert=False, token="anything")
    assert rc != 0 and out == "" and "Unauthorized" in err, err
    status, headers, body = cluster.adapter.request("/openapi/v2", method="POST")
    assert status == 405 and json.loads(body)["reason"] == "MethodNotAllowed"


def test_openapi_v2_etag_and_if_none_match(cluster):
    # As the aggregator asks: Accept: application/json, then If-None-Match with the ETag.
    status, headers, body = cluster.adapter.request("/openapi/v2", headers={"Accept": "application/json"})
    assert status == 200 and headers["content-type"] == "application/json", body[:200]
    assert json.loads(body)["swagger"] == "2.0"
    etag = headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2, etag
    assert headers["vary"] == "Accept"
    status, headers2, body2 = cluster.adapter.request(
        "/openapi/v2", headers={"Accept": "application/json", "If-None-Match": etag})
    assert (status, body2, headers2["etag"]) == (304, b"", etag)
    for other in ('"0000000000000000"', f"W/{etag}", "*"):
        status, _, again = cluster.adapter.request("/openapi/v2", headers={"If-None-Match": other})
        assert status == (200 if other.startswith('"0') else 304), other
        assert again == (body if status == 200 else b"")
    # HEAD: the headers alone.
    status, headers3, body3 = cluster.adapter.request("/openapi/v2", method="HEAD")
    assert (status, body3, headers3["etag"], int(headers3["content-length"])) == (200, b"", etag, len(body))
    # Only JSON is served (no protobuf): 406 for a client that takes nothing else.
    status, _, body4 = cluster.adapter.request(
        "/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert status == 406 and json.loads(body4)["reason"] == "NotAcceptable", body4
    status, _, _ = cluster.adapter.request(
        "/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, "
                                          "application/json"})
    assert status == 200
    _, _, text = cluster.adapter.request("/metrics", cert=False)
    assert 'pulse_adapter_requests_total{code="304",kind="openapi"}' in text.decode()


def test_openapi_v2_is_answered_while_every_handler_thread_waits(cluster):
    """/openapi/v2 is answered on the I/O threads: while all 16 handler threads wait on a
    sidecar that never answers, it comes at once, and a metric request waits its turn."""
    handler_threads = 16  # AdapterOptions::threads
    hole = socket.socket()
    hole.bind((ph.LOOPBACK, 0))
    hole.listen(64)  # connections complete in the backlog and are never answered
    cluster.kube.add_pod("hole", labels={"app": "hole"}, sidecar_port=hole.getsockname()[1])
    pod_path = "/api/v1/namespaces/default/pods/hole"
    before = len(cluster.kube.requests_to(pod_path))
    done = {}

    def get(key, path):
        status, _, _ = cluster.adapter.request(path, timeout=30)
        done[key] = (time.monotonic(), status)

    threads = [threading.Thread(target=get, args=(i, f"{V2}/namespaces/default/pods/hole/pulse_error_ratio"))
               for i in range(handler_threads)]
    try:
        for t in threads:
            t.start()
        # Every handler thread holds one: the pod was fetched once for each.
        ph.wait_for(lambda: len(cluster.kube.requests_to(pod_path)) - before >= handler_threads,
                    timeout=10, interval=0.01, message="all handler threads busy")
        queued = threading.Thread(target=get, args=("queued", f"{V2}/namespaces/default/pods/web-a/pulse_error_ratio"))
        queued.start()
        threads.append(queued)
        start = time.monotonic()
        status, _, body = cluster.adapter.request("/openapi/v2")
        answered = time.monotonic()
        assert status == 200 and json.loads(body)["swagger"] == "2.0"
        assert answered - start < 1.5, answered - start  # the fetch timeout is 2 s
        for t in threads:
            t.join(timeout=30)
        stuck = [done[i] for i in range(handler_threads)]
        assert all(code == 404 for _, code in stuck), stuck  # the sidecar did not answer
        first_free = min(when for when, _ in stuck)
        assert answered < first_free, (answered, first_free)
        assert done["queued"][1] == 200 and done["queued"][0] >= first_free, (done["queued"], first_free)
    finally:
        for t in threads:
            t.join(timeout=30)
        cluster.kube.remove_pod("hole")
        hole.close()


def test_health_and_metrics_need_no_client_certificate(cluster):
    for path, answer in (("/healthz", b"ok\n"), ("/readyz", b"ready\n")):
        status, _, body = cluster.adapter.request(path, cert=False)
        assert (status, body) == (200, answer)
    cluster.adapter.request(f"{V2}/namespaces/default/pods/*/pulse_nope")  # a 404 to count
    status, headers, body = cluster.adapter.request("/metrics", cert=False)
    assert status == 200 and headers["content-type"].startswith("text/plain")
    text = body.decode()
    assert 'pulse_adapter_requests_total{code="404",kind="pods"}' in text, text
    assert 'pulse_adapter_request_duration_seconds_bucket{kind="pods",le="+Inf"}' in text
    assert 'pulse_adapter_pods_left_out_total{reason="terminating"}' in text
    rc, out = ph.promtool_check_metrics(text)
    assert rc == 0, out


def test_remote_user_logged_only_from_a_verified_client(cluster):
    cluster.adapter.request(V2, headers={"X-Remote-User": "alice", "X-Remote-Group": "team-a"})
    cluster.adapter.request("/healthz?probe=1", cert=False,
                            headers={"X-Remote-User": "mallory", "X-Remote-Group": "system:masters"})

    def lines():
        return [line for line in cluster.adapter.log().splitlines() if "pulse-sidecar adapter: GET" in line]
    ph.wait_for(lambda: any("/healthz?probe=1" in line for line in lines()), timeout=10, message="log lines")
    alice = [line for line in lines() if "user=alice" in line]
    assert alice and "groups=team-a" in alice[-1] and "client=/CN=front-proxy-client" in alice[-1]
    assert f"GET {V2} 200" in alice[-1]
    probe = [line for line in lines() if "/healthz?probe=1" in line][-1]
    assert "user=- groups=- client=none" in probe and "200" in probe
    assert "mallory" not in cluster.adapter.log()
    assert "ms" in probe


# ---------------------------------------------------------------------------
# pods that go stale or drain


def test_stale_and_draining_pods_drop_out(cluster, nginx_factory, sidecar_factory, upstream):
    body = NGINX.replace("UPSTREAM", str(upstream.port))
    ng1, ng2 = nginx_factory(body), nginx_factory(body)
    s1 = sidecar_factory(ng1.url("http", "/metrics"), *FAST)
    s2 = sidecar_factory(ng2.url("http", "/metrics"), *FAST)
    for s in (s1, s2):
        ph.wait_for(lambda: s.get("/readyz")[0] == 200, message="sidecar ready")
    labels = {"app": "lifecycle"}
    cluster.kube.add_pod("life-stale", labels=labels, sidecar_port=s1.port)
    cluster.kube.add_pod("life-drain", labels=labels, sidecar_port=s2.port)
    path = f"{V2}/namespaces/default/pods/*/pulse_requests_per_second?labelSelector=app%3Dlifecycle"
    try:
        status, doc = cluster.adapter.get_json(path)
        assert status == 200 and set(by_name(doc)) == {"life-stale", "life-drain"}, doc

        ng1.stop()  # its sidecar's numbers go stale
        ph.wait_for(lambda: s1.signals()["stale"], timeout=15, message="stale sidecar")
        status, doc = cluster.adapter.get_json(path)
        assert status == 200 and set(by_name(doc)) == {"life-drain"}, doc
        code, reason, message = status_of(cluster, f"{V2}/namespaces/default/pods/life-stale/pulse_requests_per_second")
        assert code == 404 and "stale" in message, message

        status, _, drained = s2.get("/drain?timeout=2s", method="POST")
        assert status == 200, drained
        status, doc = cluster.adapter.get_json(path)
        assert status == 200 and doc["items"] == [], doc
        code, reason, message = status_of(cluster, f"{V2}/namespaces/default/pods/life-drain/pulse_requests_per_second")
        assert code == 404 and "draining" in message, message
    finally:
        cluster.kube.remove_pod("life-stale")
        cluster.kube.remove_pod("life-drain")


# ---------------------------------------------------------------------------
# the Kubernetes API's side and the adapter's own start


def test_kubernetes_api_trouble_is_a_status(cluster, tmp_path):
    bad = AdapterProcess(cluster.certs, cluster.kube, dir=tmp_path, token="wrong-token").start()
    try:
        status, doc = bad.get_json(f"{V2}/namespaces/default/pods/*/pulse_error_ratio")
        assert status == 500 and doc["kind"] == "Status" and "credentials" in doc["message"], doc
        assert "HTTP 401" in doc["message"]
    finally:
        bad.stop()
    gone = AdapterProcess(cluster.certs, cluster.kube, kube_api=f"https://127.0.0.1:{ph.free_port()}",
                          dir=tmp_path).start()
    try:
        status, doc = gone.get_json(f"{V2}/namespaces/default/pods/*/pulse_error_ratio")
        assert status == 503 and doc["reason"] == "ServiceUnavailable", doc
    finally:
        gone.stop()


def test_bad_tls_material_stops_the_adapter(cluster, tmp_path):
    certs = cluster.certs

    def run(*flags):
        cmd = [str(ph.sidecar_path()), "adapter", "--listen", f"127.0.0.1:{ph.free_port()}",
               "--kube-api", cluster.kube.url, *flags]
        return run_adapter_expecting_exit(cmd)

    rc, out = run("--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key),
                  "--client-ca", str(certs.not_a_ca))
    assert rc != 0 and "--client-ca" in out, out
    rc, out = run("--tls-cert", str(certs.server_cert), "--tls-key", str(tmp_path / "missing.key"),
                  "--client-ca", str(certs.front_proxy_ca))
    assert rc != 0 and "--tls-key" in out and "missing.key" in out, out
    rc, out = run("--tls-cert", str(certs.server_cert), "--tls-key", str(certs.client_key),
                  "--client-ca", str(certs.front_proxy_ca))
    assert rc != 0 and "--tls-key" in out, out  # a key that is not the certificate's
    rc, out = run("--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key))
    assert rc != 0 and "client-ca" in out, out  # required


def test_in_cluster_defaults_need_the_service_environment(cluster, tmp_path):
    a = AdapterProcess(cluster.certs, cluster.kube, dir=tmp_path, kube_flags=False)
    rc, out = run_adapter_expecting_exit(a.cmd, env=a.env)
    assert rc != 0 and "KUBERNETES_SERVICE_HOST" in out, out
    # With the service's address in the environment and the token by flag: it serves.
    host, port = ph.LOOPBACK, str(cluster.kube.port)
    b = AdapterProcess(cluster.certs, cluster.kube, "--kube-token-file", str(a.token_file),
                       "--kube-ca", str(cluster.certs.ca), dir=tmp_path, kube_flags=False,
                       env={"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}).start()
    try:
        status, doc = b.get_json(f"{V2}/namespaces/default/pods/*/pulse_websocket_connections?labelSelector=app%3Dweb")
        assert status == 200 and set(by_name(doc)) == {"web-a", "web-b"}, doc
    finally:
        b.stop()


def test_flags_from_the_environment(cluster, tmp_path):
    certs = cluster.certs
    a = AdapterProcess(certs, cluster.kube, dir=tmp_path)
    env = dict(a.env)
    env.update({"PULSE_LISTEN": f"127.0.0.1:{a.port}", "PULSE_TLS_CERT": str(certs.server_cert),
                "PULSE_TLS_KEY": str(certs.server_key), "PULSE_CLIENT_CA": str(certs.front_proxy_ca),
                "PULSE_KUBE_API": cluster.kube.url, "PULSE_KUBE_TOKEN_FILE": str(a.token_file),
                "PULSE_KUBE_CA": str(certs.ca), "PULSE_FETCH_TIMEOUT": "1500ms"})
    a.cmd = [str(ph.sidecar_path()), "adapter"]
    a.env = env
    a.start()
    try:
        status, doc = a.get_json(f"{V2}/namespaces/default/pods/web-b/pulse_websocket_connections")
        assert status == 200 and doc["items"][0]["value"] == "2000m", doc
    finally:
        a.stop()
