"""`pulse-sidecar hpa explain NAMESPACE/NAME` against a fake Kubernetes API over TLS.

The program is the real one; only the API is played, by ExplainApi: tests/integration/
fake_kube_api.py's FakeKubeApi (its pods, label selectors, bearer token and TLS) with the
other paths explain reads served from fixed documents shaped as kube-apiserver 1.20 and the
metrics APIs write them (the HPA in autoscaling/v2beta2, the Deployment's scale, discovery
of custom.metrics.k8s.io, MetricValueLists, a PodMetricsList, an ExternalMetricValueList).
Paths it does not know are answered as kube-apiserver answers a group version it does not
serve: 404 "404 page not found", text.

Each expected decision is worked out by hand from kube-controller-manager 1.20's rules
(pkg/controller/podautoscaler) in the comments beside it. The history explain decides with
is a freshly started controller's: one recommendation of the current count at its own now,
no scale events.
"""

import json
import os
import ssl
import subprocess
import threading
import urllib.parse

import pytest

import certs as certs_mod
import fake_kube_api as fk
import pulse_harness as ph

NS = "shop"
SELECTOR = "app.kubernetes.io/name=web"
V2BETA2 = f"/apis/autoscaling/v2beta2/namespaces/{NS}/horizontalpodautoscalers"
V2 = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers"
SCALE = f"/apis/apps/v1/namespaces/{NS}/deployments/web/scale"
CM = "/apis/custom.metrics.k8s.io"
RPS = "pulse_requests_per_second"

SCALE_UP_LIMIT = ("ScaleUpLimit",
                  "the desired replica count is increasing faster than the maximum scale rate")


def status(code, reason, message, kind=None, name=None):
    doc = fk.status(code, reason, message)
    if kind:
        doc["details"] = {"name": name, "group": "autoscaling", "kind": kind}
    return doc


class _Handler(fk._Handler):
    """FakeKubeApi's pods; everything else from ExplainApi.routes."""

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path)
        if parts.path.startswith("/api/v1/"):
            return super().do_GET()
        api = self.server.api
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        auth = self.headers.get("Authorization")
        api._record(parts.path, query, auth)
        if auth != f"Bearer {api.token}":
            return self._send(401, fk.status(401, "Unauthorized", "Unauthorized"))
        with api.lock:
            route = api.routes.get(parts.path)
        if route is None:
            body = b"404 page not found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        code, doc = route
        return self._send(code, doc)


class ExplainApi(fk.FakeKubeApi):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.routes = {}  # path -> (status, document)

    def serve(self, path, doc, code=200):
        with self.lock:
            self.routes[path] = (code, doc)

    def start(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self._certfile, self._keyfile)
        self._server = fk._Server((ph.LOOPBACK, 0), _Handler, ctx)
        self._server.api = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def queries(self, path):
        return [q for p, q, _ in self.requests_to(path)]


# ---- documents as the API writes them ------------------------------------------------

def web_hpa(api_version="autoscaling/v2beta2"):
    """The end-to-end test's web HPA: 2..6, Pods pulse_requests_per_second at 20 per pod,
    one pod per 8 s either way, no scale-up window, a 20 s scale-down window."""
    return {
        "kind": "HorizontalPodAutoscaler", "apiVersion": api_version,
        "metadata": {"name": "web", "namespace": NS, "uid": "0b6f3a52-6c39-4d8c-9a0b-2f1c3e4d5a6b",
                     "resourceVersion": "4242", "creationTimestamp": "2021-02-03T04:00:00Z"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 2, "maxReplicas": 6,
            "metrics": [{"type": "Pods", "pods": {
                "metric": {"name": RPS},
                "target": {"type": "AverageValue", "averageValue": "20"}}}],
            "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 8}]},
                "scaleDown": {"stabilizationWindowSeconds": 20, "selectPolicy": "Max",
                              "policies": [{"type": "Pods", "value": 1, "periodSeconds": 8}]}},
        },
        "status": {
            "lastScaleTime": "2021-02-03T04:01:00Z",
            "currentReplicas": 3, "desiredReplicas": 3,
            "currentMetrics": [{"type": "Pods", "pods": {
                "metric": {"name": RPS}, "current": {"averageValue": "20"}}}],
            "conditions": [
                {"type": "AbleToScale", "status": "True", "lastTransitionTime": "2021-02-03T04:00:15Z",
                 "reason": "ReadyForNewScale", "message": "recommended size matches current size"},
                {"type": "ScalingActive", "status": "True", "lastTransitionTime": "2021-02-03T04:00:15Z",
                 "reason": "ValidMetricFound",
                 "message": "the HPA was able to successfully calculate a replica count from pods "
                            "metric pulse_requests_per_second"},
                {"type": "ScalingLimited", "status": "False", "lastTransitionTime": "2021-02-03T04:00:15Z",
                 "reason": "DesiredWithinRange", "message": "the desired count is within the acceptable range"}],
        },
    }


def scale(replicas, status_replicas=None, selector=SELECTOR):
    doc = {"kind": "Scale", "apiVersion": "autoscaling/v1",
           "metadata": {"name": "web", "namespace": NS, "resourceVersion": "4100"},
           "spec": {"replicas": replicas} if replicas else {},
           "status": {"replicas": replicas if status_replicas is None else status_replicas}}
    if selector:
        doc["status"]["selector"] = selector
    return doc


def api_group(preferred="v1beta2"):
    return {"kind": "APIGroup", "apiVersion": "v1", "name": "custom.metrics.k8s.io",
            "versions": [{"groupVersion": "custom.metrics.k8s.io/v1beta2", "version": "v1beta2"},
                         {"groupVersion": "custom.metrics.k8s.io/v1beta1", "version": "v1beta1"}],
            "preferredVersion": {"groupVersion": f"custom.metrics.k8s.io/{preferred}",
                                 "version": preferred}}


def pod_values(values, metric=RPS):
    """A v1beta2 MetricValueList, as pulse's adapter answers through the aggregator."""
    return {"kind": "MetricValueList", "apiVersion": "custom.metrics.k8s.io/v1beta2",
            "metadata": {}, "items": [
                {"describedObject": {"kind": "Pod", "namespace": NS, "name": name, "apiVersion": "/v1"},
                 "metric": {"name": metric, "selector": None},
                 "timestamp": "2021-02-03T04:05:06Z", "windowSeconds": 6, "value": value}
                for name, value in values.items()]}


def add_ready_pods(api, names, labels=None, requests=None):
    """Running pods, started long ago and Ready since, with the containers' requests."""
    for name in names:
        pod = api.add_pod(name, ns=NS, labels=labels or {"app.kubernetes.io/name": "web"})
        pod["status"].update({
            "startTime": "2021-01-01T00:00:00Z",
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": "2021-01-01T00:00:00Z"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2021-01-01T00:00:20Z"},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2021-01-01T00:00:20Z"},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2021-01-01T00:00:00Z"}]})
        if requests:
            for c in pod["spec"]["containers"]:
                c["resources"] = {"requests": {"cpu": requests[c["name"]]}}


# ---- fixtures --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sidecar():
    path = ph.sidecar_path()
    if not path.is_file():
        pytest.fail(f"sidecar not built: run make (no {path})", pytrace=False)
    return path


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return certs_mod.make_certs(tmp_path_factory.mktemp("explain-certs"))


@pytest.fixture
def api(tls):
    a = ExplainApi(tls.server_cert, tls.server_key, namespaces=(NS,)).start()
    yield a
    a.stop()


def run(sidecar, *args):
    """pulse-sidecar with `args`, without proxies or in-cluster settings from the
    environment."""
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith(("KUBERNETES_", "PULSE_KUBE_"))}
    return subprocess.run([str(sidecar), *map(str, args)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60, env=env)


def explain(sidecar, api, tls, tmp_path, target=f"{NS}/web", *flags):
    token = tmp_path / "token"
    token.write_text(api.token + "\n")
    r = run(sidecar, "hpa", "explain", target, "--kube-api", api.url, "--kube-token-file", token,
            "--kube-ca", tls.ca, *flags)
    return r.returncode, r.stdout, r.stderr


def explained(sidecar, api, tls, tmp_path, *args):
    code, out, err = explain(sidecar, api, tls, tmp_path, *args)
    assert code == 0, err
    assert err == ""
    return json.loads(out)


def conditions(d):
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in d["conditions"]}


def serve_web(api, rps, replicas=3, metric_doc=None):
    api.serve(f"{V2BETA2}/web", web_hpa())
    api.serve(SCALE, scale(replicas))
    names = [f"web-{i}" for i in range(replicas)]
    add_ready_pods(api, names)
    api.serve(CM, api_group())
    api.serve(f"{CM}/v1beta2/namespaces/{NS}/pods/*/{RPS}",
              metric_doc if metric_doc is not None else pod_values({n: rps for n in names}))
    return names


# ---- tests -----------------------------------------------------------------------------

def test_scale_up_limited_by_the_behaviors_policy(sidecar, api, tls, tmp_path):
    # 3 ready pods at 30 rps against 20: usage ratio 1.5, outside 1 +/- 0.1, every pod
    # ready with a value: ceil(1.5 x 3) = 5 (GetMetricReplicas). The seeded recommendation
    # (3, at now) is not after now - 0 s, outside the scale-up window: stabilized 5. Policy
    # Pods 1 per 8 s, no scale event: 3 + 1 = 4 < 6: ScaleUpLimit, desired 4, rescale.
    # The controller records the unstabilized 5 and a scale-up event of 1.
    serve_web(api, "30")
    out = explained(sidecar, api, tls, tmp_path)
    assert out["hpa"] == "shop/web"
    assert out["apiVersion"] == "autoscaling/v2beta2"
    d = out["decision"]
    assert (d["currentReplicas"], d["proposedReplicas"], d["stabilizedReplicas"],
            d["desiredReplicas"], d["rescale"]) == (3, 5, 5, 4, True)
    assert d["metrics"] == [{"type": "Pods", "name": RPS,
                             "target": {"type": "AverageValue", "averageValue": "20"},
                             "proposal": 5, "current": {"averageValue": "30"}}]
    assert d["limit"] == {"reason": SCALE_UP_LIMIT[0], "message": SCALE_UP_LIMIT[1]}
    assert conditions(d) == {
        "AbleToScale": ("True", "SucceededRescale",
                        "the HPA controller was able to update the target scale to 4"),
        "ScalingActive": ("True", "ValidMetricFound",
                          "the HPA was able to successfully calculate a replica count from pods "
                          "metric pulse_requests_per_second"),
        "ScalingLimited": ("True",) + SCALE_UP_LIMIT,
    }
    now = out["state"]["time"]
    assert d["recordedRecommendation"] == {"time": now, "replicas": 5}
    assert d["recordedScaleEvent"] == {"time": now, "change": 1, "direction": "up"}
    # The history it decided with, and says so.
    assert out["state"]["recommendations"] == [{"time": now, "replicas": 3}]
    assert out["state"]["scaleUpEvents"] == [] and out["state"]["scaleDownEvents"] == []
    assert out["history"].startswith("seeded as a freshly started controller would: one "
                                     "recommendation of 3 replicas")
    # The HPA's own status, as the API returned it, beside the decision.
    hpa_status = web_hpa()["status"]
    assert out["status"] == {k: hpa_status[k] for k in ("currentReplicas", "desiredReplicas",
                                                         "lastScaleTime", "conditions",
                                                         "currentMetrics")}
    assert any("status.desiredReplicas (3) differs from this decision's (4)" in n
               for n in out["notes"]), out["notes"]
    # What it asked: the HPA at v2 first (not served: 404), then v2beta2; the pods and the
    # metric by the scale's selector; every request with the token.
    assert [p for p, _, _ in api.requests if p.startswith("/apis/autoscaling")] == [
        f"{V2}/web", f"{V2BETA2}/web"]
    assert api.queries(f"/api/v1/namespaces/{NS}/pods") == [{"labelSelector": SELECTOR}]
    assert api.queries(f"{CM}/v1beta2/namespaces/{NS}/pods/*/{RPS}") == [{"labelSelector": SELECTOR}]
    assert {a for _, _, a in api.requests} == {f"Bearer {api.token}"}
    # Its state replays through `hpa decide` to the same decision.
    (tmp_path / "hpa.json").write_text(json.dumps(web_hpa()))
    (tmp_path / "state.json").write_text(json.dumps(out["state"]))
    r = run(sidecar, "hpa", "decide", "--hpa", tmp_path / "hpa.json", "--state",
            tmp_path / "state.json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == d


def test_held_at_the_current_count_within_tolerance(sidecar, api, tls, tmp_path):
    # 21 rps against 20: ratio 1.05, within 1 +/- 0.1: the current count, 3 (proposal 3).
    # With --tolerance 0.01 it is outside: ceil(1.05 x 3) = ceil(3.15) = 4, within the
    # policy's one pod: 4, DesiredWithinRange.
    serve_web(api, "21")
    d = explained(sidecar, api, tls, tmp_path)["decision"]
    assert (d["proposedReplicas"], d["desiredReplicas"], d["rescale"]) == (3, 3, False)
    assert conditions(d)["AbleToScale"][1] == "ReadyForNewScale"
    d = explained(sidecar, api, tls, tmp_path, f"{NS}/web", "--tolerance", "0.01")["decision"]
    assert (d["proposedReplicas"], d["desiredReplicas"]) == (4, 4)
    assert d["limit"]["reason"] == "DesiredWithinRange"


@pytest.mark.parametrize("answer", ["404", "empty"])
def test_a_metric_that_cannot_be_read_fails_as_the_controller_fails_it(sidecar, api, tls, tmp_path,
                                                                       answer):
    # The adapter answers 404 (it has no such metric) or an empty list: the controller's
    # GetRawMetric fails, it is the only metric, so computeReplicasForMetrics fails: the
    # condition of the first (only) failure, ScalingActive False FailedGetPodsMetric; the
    # count is held (desired = current, no rescale), nothing recorded.
    metric_path = f"{CM}/v1beta2/namespaces/{NS}/pods/*/{RPS}"
    serve_web(api, "30", metric_doc=pod_values({}))
    if answer == "404":
        api.serve(metric_path, fk.status(404, "NotFound", f'the server could not find the metric {RPS} for pods'),
                  code=404)
    out = explained(sidecar, api, tls, tmp_path)
    d = out["decision"]
    assert (d["currentReplicas"], d["desiredReplicas"], d["rescale"]) == (3, 3, False)
    assert d["proposedReplicas"] is None and d["limit"] is None
    assert d["recordedRecommendation"] is None
    active = conditions(d)["ScalingActive"]
    assert active[:2] == ("False", "FailedGetPodsMetric"), d
    assert "no metrics returned from custom metrics API" in active[2]
    assert d["metrics"][0]["reason"] == "FailedGetPodsMetric"
    assert out["state"]["metrics"]["pods"] == {}
    # The note says which request failed and why.
    note = next(n for n in out["notes"] if n.startswith(f"Pods metric {RPS} could not be read"))
    if answer == "404":
        assert (f"GET {metric_path}?labelSelector=app.kubernetes.io%2Fname%3Dweb: HTTP 404: "
                "the server could not find the metric") in note
    else:
        assert "no metrics returned from custom metrics API" in note


def test_a_missing_hpa_exits_1_naming_the_request(sidecar, api, tls, tmp_path):
    api.serve(f"{V2BETA2}/nope", status(404, "NotFound",
                                        'horizontalpodautoscalers.autoscaling "nope" not found',
                                        kind="horizontalpodautoscalers", name="nope"), code=404)
    code, out, err = explain(sidecar, api, tls, tmp_path, f"{NS}/nope")
    assert code == 1 and out == ""
    assert err == ("pulse-sidecar hpa explain: GET /apis/autoscaling/v2beta2/namespaces/shop/"
                   "horizontalpodautoscalers/nope: HTTP 404: horizontalpodautoscalers.autoscaling "
                   "\"nope\" not found\n")


def test_v2_is_used_where_served(sidecar, api, tls, tmp_path):
    # A server that serves autoscaling/v2 (1.23+): the HPA is read there, never at v2beta2.
    serve_web(api, "30")
    api.serve(f"{V2}/web", web_hpa("autoscaling/v2"))
    out = explained(sidecar, api, tls, tmp_path)
    assert out["apiVersion"] == "autoscaling/v2"
    assert out["decision"]["desiredReplicas"] == 4
    assert api.requests_to(f"{V2BETA2}/web") == []
    # There, a missing HPA is the v2 Status: no second try at v2beta2.
    api.serve(f"{V2}/gone", status(404, "NotFound", 'horizontalpodautoscalers.autoscaling "gone" not found',
                                   kind="horizontalpodautoscalers", name="gone"), code=404)
    code, _, err = explain(sidecar, api, tls, tmp_path, f"{NS}/gone")
    assert code == 1 and f"GET {V2}/gone: HTTP 404" in err
    assert api.requests_to(f"{V2BETA2}/gone") == []


def test_object_external_and_cpu_metrics_without_behavior(sidecar, api, tls, tmp_path):
    # An HPA of each other kind of metric, 1..10, no behavior; 2 replicas (scale status 2),
    # 2 ready pods requesting 100m + 50m CPU.
    # - Object pulse_jobs_waiting of Deployment workers-emails, AverageValue 100: 350 over
    #   status replicas 2: ratio 350 / (100 x 2) = 1.75, outside tolerance:
    #   ceil(350 / 100) = 4; current average ceil(350000m / 2) = 175.
    # - External queue_depth{queue=emails}, Value 4: the sum 8 + 600m = 8.6; ratio 2.15:
    #   ceil(2.15 x 2 ready pods) = ceil(4.3) = 5; current value 8600m.
    # - Resource cpu at 60% (through autoscaling/v1 it comes last): 135m of 150m = 90% in
    #   each pod, ratio 1.5: ceil(1.5 x 2) = 3; current 90%, average 135m.
    # The largest, 5, from the external metric. Without behavior: the seeded 2 and 5 in the
    # 300 s window: 5; the scale-up limit max(2 x 2, 4) = 4: desired 4, ScaleUpLimit.
    hpa = {"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2beta2",
           "metadata": {"name": "web", "namespace": NS},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "minReplicas": 1, "maxReplicas": 10,
                    "metrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "target": {
                            "type": "Utilization", "averageUtilization": 60}}},
                        {"type": "Object", "object": {
                            "describedObject": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                "name": "workers-emails"},
                            "metric": {"name": "pulse_jobs_waiting"},
                            "target": {"type": "AverageValue", "averageValue": "100"}}},
                        {"type": "External", "external": {
                            "metric": {"name": "queue_depth",
                                       "selector": {"matchLabels": {"queue": "emails"}}},
                            "target": {"type": "Value", "value": "4"}}}]},
           "status": {"currentReplicas": 2, "desiredReplicas": 2, "conditions": None}}
    api.serve(f"{V2BETA2}/web", hpa)
    api.serve(SCALE, scale(2))
    add_ready_pods(api, ["web-0", "web-1"], requests={"nginx": "100m", "pulse-sidecar": "50m"})
    api.serve(CM, api_group(preferred="v1beta1"))
    object_path = f"{CM}/v1beta1/namespaces/{NS}/deployments.apps/workers-emails/pulse_jobs_waiting"
    api.serve(object_path, {
        "kind": "MetricValueList", "apiVersion": "custom.metrics.k8s.io/v1beta1", "metadata": {},
        "items": [{"describedObject": {"kind": "Deployment", "namespace": NS, "name": "workers-emails",
                                       "apiVersion": "apps/v1"},
                   "metricName": "pulse_jobs_waiting", "timestamp": "2021-02-03T04:05:06Z",
                   "value": "350", "selector": None}]})
    external_path = f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{NS}/queue_depth"
    api.serve(external_path, {
        "kind": "ExternalMetricValueList", "apiVersion": "external.metrics.k8s.io/v1beta1",
        "metadata": {}, "items": [
            {"metricName": "queue_depth", "metricLabels": {"queue": "emails", "shard": str(i)},
             "timestamp": "2021-02-03T04:05:06Z", "value": v} for i, v in enumerate(["8", "600m"])]})
    pod_metrics_path = f"/apis/metrics.k8s.io/v1beta1/namespaces/{NS}/pods"
    api.serve(pod_metrics_path, {
        "kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
        "items": [{"metadata": {"name": name, "namespace": NS},
                   "timestamp": "2021-02-03T04:05:06Z", "window": "30s",
                   "containers": [{"name": "nginx", "usage": {"cpu": "120m", "memory": "10Mi"}},
                                  {"name": "pulse-sidecar", "usage": {"cpu": "15m", "memory": "5Mi"}}]}
                  for name in ("web-0", "web-1")]})
    out = explained(sidecar, api, tls, tmp_path)
    d = out["decision"]
    by_type = {m["type"]: m for m in d["metrics"]}
    assert [m["type"] for m in d["metrics"]] == ["Object", "External", "Resource"]
    assert (by_type["Object"]["proposal"], by_type["Object"]["current"]) == (4, {"averageValue": "175"})
    assert (by_type["External"]["proposal"], by_type["External"]["current"]) == (5, {"value": "8600m"})
    assert (by_type["Resource"]["proposal"], by_type["Resource"]["current"]) == (
        3, {"averageUtilization": 90, "averageValue": "135m"})
    assert (d["proposedReplicas"], d["stabilizedReplicas"], d["desiredReplicas"]) == (5, 5, 4)
    assert conditions(d)["ScalingLimited"] == ("True",) + SCALE_UP_LIMIT
    assert d["recordedScaleEvent"] is None  # kept only with behavior
    assert out["status"]["conditions"] is None
    assert api.queries(object_path) == [{}]
    assert api.queries(external_path) == [{"labelSelector": "queue=emails"}]
    assert api.queries(pod_metrics_path) == [{"labelSelector": SELECTOR}]
    assert out["state"]["resourceMetricWindow"] == 30
    assert out["notes"] == ["the HPA's status.desiredReplicas (2) differs from this decision's (4): "
                            "the status is the controller's last sync, with its own history (a "
                            "stabilization window or a scaling policy holding the count), and the "
                            "metrics may have moved since"]


def test_a_scale_without_a_selector_is_invalid_selector(sidecar, api, tls, tmp_path):
    # computeReplicasForMetrics stops first thing: ScalingActive False InvalidSelector; no
    # pods or metrics are read.
    serve_web(api, "30")
    api.serve(SCALE, scale(3, selector=None))
    out = explained(sidecar, api, tls, tmp_path)
    d = out["decision"]
    assert (d["desiredReplicas"], d["rescale"], d["metrics"]) == (3, False, [])
    assert conditions(d)["ScalingActive"] == ("False", "InvalidSelector",
                                              "the HPA target's scale is missing a selector")
    assert api.requests_to(f"/api/v1/namespaces/{NS}/pods") == []


@pytest.mark.parametrize("replicas,desired,active,note", [
    # spec.replicas 0 with minReplicas 2: scaling disabled, desired stays 0.
    (0, 0, ("False", "ScalingDisabled"), "the target is at 0 replicas (scaling disabled)"),
    # 9 above maxReplicas 6: straight to 6, rescale; no ScalingActive condition.
    (9, 6, None, "the current count 9 is above maxReplicas 6"),
])
def test_no_metrics_read_when_the_controller_computes_none(sidecar, api, tls, tmp_path,
                                                           replicas, desired, active, note):
    serve_web(api, "30")
    api.serve(SCALE, scale(replicas))
    out = explained(sidecar, api, tls, tmp_path)
    d = out["decision"]
    assert (d["currentReplicas"], d["desiredReplicas"], d["metrics"]) == (replicas, desired, [])
    assert conditions(d).get("ScalingActive", (None, None, None))[:2] == (active or (None, None))
    assert any(note in n for n in out["notes"]), out["notes"]
    assert api.requests_to(f"/api/v1/namespaces/{NS}/pods") == []
    assert api.requests_to(f"{CM}/v1beta2/namespaces/{NS}/pods/*/{RPS}") == []


def test_api_errors_exit_1_and_bad_arguments_2(sidecar, api, tls, tmp_path):
    api.serve(f"{V2BETA2}/web", web_hpa())
    # The target's scale is refused: exit 1 naming the request.
    api.serve(SCALE, fk.status(403, "Forbidden", 'deployments.apps "web" is forbidden: User '
                               '"alice" cannot get resource "deployments/scale"'), code=403)
    code, out, err = explain(sidecar, api, tls, tmp_path)
    assert code == 1 and out == ""
    assert err.startswith(f"pulse-sidecar hpa explain: GET {SCALE}: HTTP 403: deployments.apps")
    assert err.count("\n") == 1
    # A wrong token: the HPA's request is refused.
    token = tmp_path / "bad-token"
    token.write_text("not-the-token\n")
    r = run(sidecar, "hpa", "explain", f"{NS}/web", "--kube-api", api.url,
            "--kube-token-file", token, "--kube-ca", tls.ca)
    assert r.returncode == 1 and "HTTP 401: Unauthorized" in r.stderr, r.stderr
    # A CA that did not sign the API's certificate: a transport error, naming the URL.
    r = run(sidecar, "hpa", "explain", f"{NS}/web", "--kube-api", api.url,
            "--kube-token-file", token, "--kube-ca", tls.front_proxy_ca)
    assert r.returncode == 1 and r.stderr.startswith(
        f"pulse-sidecar hpa explain: GET {api.url}{V2}/web: "), r.stderr
    # Bad arguments.
    for args, message in [
        (["web"], '"web" is not NAMESPACE/NAME'),
        ([f"{NS}/web", "--kube-client-cert", str(tls.client_cert)],
         "--kube-client-cert and --kube-client-key go together"),
        ([f"{NS}/web", "--kube-ca", str(tmp_path / "absent.crt")], "cannot be read"),
        ([f"{NS}/web", "--tolerance=-1"], '"-1" is not a number at least 0'),
        ([f"{NS}/web", "--downscale-stabilization", "5 minutes"], "is not a duration"),
    ]:
        r = run(sidecar, "hpa", "explain", *args, "--kube-api", api.url)
        assert r.returncode == 2 and message in r.stderr, (args, r.stderr)
