"""pulse's whole loop on a real Kubernetes 1.20 control plane (tests/e2e/kube_env.py): nginx
with the module and a sidecar in every web pod, the adapter behind kube-apiserver's
aggregator, and the real HPA controller in kube-controller-manager scaling the web
Deployment on pulse_requests_per_second. Only the kubelet is played by the test.
"""

import http.client
import json
import math
import ssl
import threading
import time

import pytest

import kube_env as ke
import pulse_harness as ph
from conftest import HPA_BEHAVIOR, REPO, TARGET_RPS, WEB_NS

V1 = "/apis/custom.metrics.k8s.io/v1beta1"
V2 = "/apis/custom.metrics.k8s.io/v1beta2"
SELECTOR = "labelSelector=app.kubernetes.io%2Fname%3Dweb"


def apiservice_available(cp, name):
    doc = cp.api.get(f"/apis/apiregistration.k8s.io/v1/apiservices/{name}")
    for cond in doc.get("status", {}).get("conditions", []):
        if cond["type"] == "Available":
            return cond["status"] == "True", cond.get("message", "")
    return False, "no Available condition"


def replicas(cp):
    return cp.api.get(f"/apis/apps/v1/namespaces/{WEB_NS}/deployments/web")["spec"].get("replicas")


def hpa(cp):
    return cp.api.get(f"/apis/autoscaling/v2beta2/namespaces/{WEB_NS}/horizontalpodautoscalers/web")


def conditions(doc):
    # A new HPA's status has `conditions: null` until its first sync.
    return {c["type"]: (c["status"], c.get("reason", ""))
            for c in (doc.get("status") or {}).get("conditions") or []}


def ready_pods(cluster):
    pods = cluster.cp.api.get(f"/api/v1/namespaces/{WEB_NS}/pods?{SELECTOR}")["items"]
    out = []
    for p in pods:
        if p["metadata"].get("deletionTimestamp") or p.get("status", {}).get("phase") != "Running":
            continue
        if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])):
            out.append((p["metadata"]["name"], p["status"]["podIP"]))
    return out


def wait_replicas(cluster, n, timeout=120):
    ph.wait_for(lambda: replicas(cluster.cp) == n and len(ready_pods(cluster)) == n, timeout=timeout,
                interval=0.5, message=f"{n} ready web pods")


class Load:
    """`rate` requests a second in all, spread over the ready web pods as a Service would
    spread them, until stopped."""

    def __init__(self, cluster, rate):
        self.cluster, self.rate = cluster, rate
        self.stop_event = threading.Event()
        self.sent = 0
        self.failed = 0
        self.per_pod = {}  # ip -> requests answered
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        conns = {}
        start, n, pods, refreshed = time.monotonic(), 0, [], 0.0
        while not self.stop_event.is_set():
            now = time.monotonic()
            if now - refreshed > 0.5:
                pods = [ip for _, ip in ready_pods(self.cluster)] or pods
                refreshed = now
            due = start + n / self.rate
            if due > now:
                self.stop_event.wait(due - now)
                continue
            if pods:
                ip = pods[n % len(pods)]
                try:
                    conn = conns.get(ip) or http.client.HTTPConnection(ip, ke.NGINX_PORT, timeout=5)
                    conns[ip] = conn
                    conn.request("GET", "/")
                    conn.getresponse().read()
                    self.sent += 1
                    self.per_pod[ip] = self.per_pod.get(ip, 0) + 1
                except OSError:
                    conns.pop(ip, None)
                    self.failed += 1
            n += 1
        for c in conns.values():
            c.close()

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=10)


class Timeline:
    """The Deployment's replica count over time, sampled by a thread."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.points = []  # (seconds since start, replicas)
        self.t0 = time.monotonic()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        while not self.stop_event.is_set():
            n = replicas(self.cluster.cp)
            if not self.points or self.points[-1][1] != n:
                self.points.append((time.monotonic() - self.t0, n))
            self.stop_event.wait(0.25)

    def now(self):
        return time.monotonic() - self.t0

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=10)
        n = replicas(self.cluster.cp)  # the change the last sample may have missed
        if self.points[-1][1] != n:
            self.points.append((self.now(), n))

    def print(self):
        print("replica timeline (s since the load step: replicas):")
        for t, n in self.points:
            print(f"  {t:7.1f}  {n}")


# ---------------------------------------------------------------------------------------


def test_apiservices_are_available_and_serve_through_the_aggregator(cluster):
    cp = cluster.cp
    for name in ("v1beta1.custom.metrics.k8s.io", "v1beta2.custom.metrics.k8s.io"):
        ph.wait_for(lambda: apiservice_available(cp, name)[0], timeout=90, interval=1,
                    message=f"{name} Available (last: {apiservice_available(cp, name)[1]})")
    wait_replicas(cluster, 2)  # the HPA's minReplicas
    ph.wait_for(lambda: all(ph.http_get(f"http://{ip}:{ke.SIDECAR_PORT}/readyz")[0] == 200
                            for _, ip in ready_pods(cluster)), message="sidecars ready")
    names = {n for n, _ in ready_pods(cluster)}
    for prefix in (V1, V2):
        out = cp.kubectl("get", "--raw", f"{prefix}/namespaces/{WEB_NS}/pods/*/pulse_requests_per_second?{SELECTOR}")
        doc = json.loads(out.stdout)
        assert doc["kind"] == "MetricValueList", doc
        assert {i["describedObject"]["name"] for i in doc["items"]} == names, doc
        disc = json.loads(cp.kubectl("get", "--raw", prefix).stdout)
        assert any(r["name"] == "pods/pulse_requests_per_second" for r in disc["resources"])
    # The aggregator loaded the adapter's OpenAPI document (no "loading OpenAPI spec ... failed").
    ph.wait_for(lambda: "/openapi/v2 200" in cluster.adapter.proc.log_path.read_text(), timeout=90, interval=1,
                message="the aggregator's GET /openapi/v2")
    assert "loading OpenAPI spec" not in cp.apiserver.log_path.read_text()
    # The aggregator sent the front-proxy certificate and the user's name: the adapter logged both.
    log = cluster.adapter.proc.log_path.read_text()
    assert "user=pulse-e2e-admin" in log and "client=/CN=front-proxy-client" in log, ph.tail(cluster.adapter.proc.log_path)


def test_rbac_refuses_a_user_without_get_and_the_adapter_a_client_without_the_certificate(cluster):
    cp = cluster.cp
    r = cp.kubectl("get", "--raw", f"{V2}/namespaces/{WEB_NS}/pods/*/pulse_requests_per_second",
                   user="alice", check=False)
    assert r.returncode != 0 and "forbidden" in r.stderr.lower(), r.stderr
    # Straight to the adapter, with the cluster admin's certificate (not the front proxy's).
    ctx = ssl.create_default_context(cafile=str(cp.pki.path("adapter-ca.crt")))
    ctx.load_cert_chain(str(cp.pki.path("admin.crt")), str(cp.pki.path("admin.key")))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        conn = http.client.HTTPSConnection(ke.ADAPTER_IP, ke.ADAPTER_PORT, context=ctx, timeout=10)
        conn.request("GET", V2)
        conn.getresponse().read()
    ctx = ssl.create_default_context(cafile=str(cp.pki.path("adapter-ca.crt")))
    conn = http.client.HTTPSConnection(ke.ADAPTER_IP, ke.ADAPTER_PORT, context=ctx, timeout=10)
    conn.request("GET", f"{V2}/namespaces/{WEB_NS}/pods/*/pulse_requests_per_second",
                 headers={"X-Remote-User": "system:admin", "X-Remote-Group": "system:masters"})
    resp = conn.getresponse()
    assert resp.status == 401 and json.loads(resp.read())["reason"] == "Unauthorized"


def test_the_hpa_scales_up_one_pod_per_period_and_down_after_the_window(cluster):
    cp = cluster.cp
    wait_replicas(cluster, 2)
    ph.wait_for(lambda: conditions(hpa(cp)).get("ScalingActive", ("",))[0] == "True", timeout=60,
                interval=1, message="the HPA reads the metric")
    rate = 4.5 * TARGET_RPS  # ceil(90 / 20) = 5 pods
    expected = math.ceil(rate / TARGET_RPS)
    up_period = HPA_BEHAVIOR["scaleUp"]["policies"][0]["periodSeconds"]
    down_period = HPA_BEHAVIOR["scaleDown"]["policies"][0]["periodSeconds"]
    down_window = HPA_BEHAVIOR["scaleDown"]["stabilizationWindowSeconds"]
    timeline = Timeline(cluster).start()
    load = Load(cluster, rate).start()
    try:
        wait_replicas(cluster, expected, timeout=240)
        # Held at the formula's answer while the load lasts.
        time.sleep(2 * up_period)
        assert replicas(cp) == expected
        at_peak = hpa(cp)
        stopped = timeline.now()
    finally:
        load.stop()
    try:
        wait_replicas(cluster, 2, timeout=300)
    finally:
        timeline.stop()
        timeline.print()
        describe = cp.kubectl("describe", "hpa.v2beta2.autoscaling", "web", "-n", WEB_NS, check=False)
        print(describe.stdout)
        cluster.kubelet.check()
    assert load.failed == 0 and load.sent > 0

    points = timeline.points
    ups = [(t, n) for (t, n), (_, before) in zip(points[1:], points) if n > before]
    downs = [(t, n) for (t, n), (_, before) in zip(points[1:], points) if n < before]
    first_up = ups[0][0]
    print(f"load step to the first new replica: {first_up:.1f} s (HPA sync period "
          f"{cp.hpa_sync}, sidecar interval 1s, window 6s)")
    # One pod per period, up to the formula's count.
    assert [n for _, n in ups] == list(range(3, expected + 1)), points
    for (t1, _), (t2, _) in zip(ups, ups[1:]):
        assert t2 - t1 >= up_period - 1, points
    # Down only after the stabilization window, one pod per period, to minReplicas.
    assert [n for _, n in downs] == list(range(expected - 1, 1, -1)), points
    assert downs[0][0] - stopped >= down_window - 1, (stopped, points)
    for (t1, _), (t2, _) in zip(downs, downs[1:]):
        assert t2 - t1 >= down_period - 1, points
    # What the controller read at the peak: pulse's value, near the target per pod.
    metric = at_peak["status"]["currentMetrics"][0]["pods"]
    assert metric["metric"]["name"] == "pulse_requests_per_second"
    assert conditions(at_peak)["AbleToScale"][0] == "True"


def sample(cluster, seconds, every=0.5):
    """(replicas, HPA) every `every` seconds for `seconds`."""
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        out.append((replicas(cluster.cp), hpa(cluster.cp)))
        time.sleep(every)
    return out


def current_average(doc):
    metrics = doc.get("status", {}).get("currentMetrics") or []
    if not metrics:
        return None
    return ph_quantity(metrics[0]["pods"]["current"]["averageValue"])


def ph_quantity(q):
    """A Kubernetes quantity ("1500m", "30", "2k") as a float."""
    suffixes = {"m": 1e-3, "k": 1e3, "M": 1e6}
    if q[-1] in suffixes:
        return float(q[:-1]) * suffixes[q[-1]]
    return float(q)


def pods_in_metric(cluster):
    out = cluster.cp.kubectl("get", "--raw", f"{V2}/namespaces/{WEB_NS}/pods/*/pulse_requests_per_second?{SELECTOR}")
    return {i["describedObject"]["name"] for i in json.loads(out.stdout)["items"]}


def drain_from_the_pod(ip):
    """POST /drain as the pod's preStop hook does: from the pod itself (loopback source)."""
    conn = http.client.HTTPConnection(ip, ke.SIDECAR_PORT, timeout=30, source_address=("127.0.0.1", 0))
    conn.request("POST", "/drain?timeout=5s")
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read())


def test_stale_and_draining_pods_are_left_out_and_the_controller_holds_replicas(cluster):
    """Three web pods under a light load; one pod's nginx stops (its sidecar goes stale) and
    another drains. The adapter leaves both out, and the controller's missing-pod rule
    (replica_calculator.go: on a scale-down, a pod without a metric counts as at the target)
    keeps three replicas, where the one pod left reporting would have it scale to two. Once
    every pod reports again, it scales down to two."""
    cp = cluster.cp
    wait_replicas(cluster, 2)
    load = Load(cluster, 2.5 * TARGET_RPS).start()  # 25/s on each of 2: ceil(1.25 x 2) = 3
    try:
        wait_replicas(cluster, 3, timeout=120)
    finally:
        load.stop()
    (x, x_ip), (y, y_ip), (z, z_ip) = sorted(ready_pods(cluster))
    cluster.kubelet.pod(x).stop_nginx()
    status, doc = drain_from_the_pod(y_ip)
    assert status == 200 and doc["drained"] is True, doc
    ph.wait_for(lambda: pods_in_metric(cluster) == {z}, timeout=30, interval=0.5,
                message="the adapter leaves the stale and the draining pod out")
    load = Load(cluster, 0.5 * TARGET_RPS).start()  # all on z: ratio 0.5 without the rule
    try:
        ph.wait_for(lambda: 0 < (current_average(hpa(cp)) or 0) < 0.8 * TARGET_RPS, timeout=60, interval=0.5,
                    message="the controller reads z alone, under the target")
        window = HPA_BEHAVIOR["scaleDown"]["stabilizationWindowSeconds"]
        period = HPA_BEHAVIOR["scaleDown"]["policies"][0]["periodSeconds"]
        held = sample(cluster, window + 2 * period)
        cluster.kubelet.check()
        assert {n for n, _ in held} == {3}, [n for n, _ in held]
        assert pods_in_metric(cluster) == {z}
        # Every pod reports again: x's nginx back, y (drained, about to stop) replaced.
        cluster.kubelet.pod(x).nginx.start()
        cp.kubectl("delete", "pod", y, "-n", WEB_NS, "--wait=false")
        ph.wait_for(lambda: len(pods_in_metric(cluster)) == 3, timeout=60, interval=0.5,
                    message="all three pods in the metric again")
        wait_replicas(cluster, 2, timeout=120)
    finally:
        load.stop()
    print(f"held at 3 for {window + 2 * period} s with 2 of 3 pods left out; down to 2 once they reported")


def test_adapter_down_the_hpa_holds_and_recovers(cluster):
    cp = cluster.cp
    wait_replicas(cluster, 2)
    ph.wait_for(lambda: conditions(hpa(cp)).get("ScalingActive", ("",))[0] == "True", timeout=60,
                interval=1, message="the HPA active")
    cluster.adapter.stop()
    try:
        ph.wait_for(lambda: conditions(hpa(cp)).get("ScalingActive") == ("False", "FailedGetPodsMetric"),
                    timeout=60, interval=0.5, message="ScalingActive False, FailedGetPodsMetric")
        assert {n for n, _ in sample(cluster, 6)} == {2}
        events = cp.kubectl("get", "events", "-n", WEB_NS, "--field-selector",
                            "involvedObject.kind=HorizontalPodAutoscaler", "-o", "json").stdout
        assert any(e["reason"] == "FailedGetPodsMetric" for e in json.loads(events)["items"])
    finally:
        cluster.adapter.start()
    ph.wait_for(lambda: conditions(hpa(cp)).get("ScalingActive", ("",))[0] == "True", timeout=90,
                interval=0.5, message="the HPA active again")
    assert replicas(cp) == 2


def test_only_the_legacy_overlay_fits_kubernetes_1_20(cluster):
    """The base's autoscaling/v2 HPA is not served by 1.20; the legacy-1.19 overlay's
    autoscaling/v2beta2 copy, which every test here runs on, is, with its behavior kept."""
    r = cluster.cp.kubectl("apply", "--dry-run=server", "-f", REPO / "conf/kubernetes/base/hpa.yaml",
                           "-n", WEB_NS, check=False)
    assert r.returncode != 0 and 'no matches for kind "HorizontalPodAutoscaler" in version "autoscaling/v2"' in r.stderr, r.stderr
    doc = hpa(cluster.cp)
    assert doc["apiVersion"] == "autoscaling/v2beta2" and doc["spec"]["behavior"]["scaleUp"]["policies"]


def evict(cp, ns, name):
    return cp.api.request("POST", f"/api/v1/namespaces/{ns}/pods/{name}/eviction", {
        "apiVersion": "policy/v1beta1", "kind": "Eviction", "metadata": {"name": name, "namespace": ns}})


def test_the_edge_pdb_lets_one_pod_go_at_a_time_and_web_pods_are_evictable(cluster):
    cp = cluster.cp
    edge = cluster.edge_kubelet

    def ready_edge():
        pods = cp.api.get("/api/v1/namespaces/ingress/pods")["items"]
        return sorted(p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp") and any(
            c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", [])))

    ph.wait_for(lambda: len(ready_edge()) == 3, timeout=60, interval=0.5, message="three ready edge pods")
    ph.wait_for(lambda: cp.api.get("/apis/policy/v1beta1/namespaces/ingress/poddisruptionbudgets/edge")
                .get("status", {}).get("disruptionsAllowed") == 1, timeout=60, interval=0.5,
                message="the edge PDB allows one disruption")
    first, second = ready_edge()[:2]
    edge.hold_new_unready = True  # the replacement starts, but is not ready yet
    try:
        status, doc = evict(cp, "ingress", first)
        assert status == 201, doc
        ph.wait_for(lambda: len(edge.names()) == 3 and first not in edge.names(), timeout=60, interval=0.5,
                    message="the ReplicaSet's replacement")
        ph.wait_for(lambda: cp.api.get("/apis/policy/v1beta1/namespaces/ingress/poddisruptionbudgets/edge")
                    .get("status", {}).get("disruptionsAllowed") == 0, timeout=60, interval=0.5,
                    message="no disruption allowed while the replacement is unready")
        status, doc = evict(cp, "ingress", second)
        assert status == 429 and "disruption budget" in json.dumps(doc), (status, doc)
    finally:
        edge.hold_new_unready = False
        for name in edge.names():
            edge.set_ready(name, True)
    ph.wait_for(lambda: len(ready_edge()) == 3, timeout=60, interval=0.5, message="the edge whole again")
    # The web pods, by contrast, are evictable (their PDB allows one at a time too).
    wait_replicas(cluster, 2)
    ph.wait_for(lambda: cp.api.get(f"/apis/policy/v1beta1/namespaces/{WEB_NS}/poddisruptionbudgets/web")
                .get("status", {}).get("disruptionsAllowed", 0) >= 1, timeout=60, interval=0.5,
                message="the web PDB allows a disruption")
    web_pod = ready_pods(cluster)[0][0]
    status, doc = evict(cp, WEB_NS, web_pod)
    assert status == 201, doc
    wait_replicas(cluster, 2)


# ---------------------------------------------------------------------------------------
# The workers: an HPA on an Object metric, the queue's length, served by the adapter from
# its own scrapes of a real Redis exporter (docs/workers.md).


def worker_replicas(cp, job):
    return cp.api.get(f"/apis/apps/v1/namespaces/{WEB_NS}/deployments/workers-{job}")["spec"].get("replicas")


def worker_hpa(cp, job):
    return cp.api.get(f"/apis/autoscaling/v2beta2/namespaces/{WEB_NS}/horizontalpodautoscalers/workers-{job}")


def worker_target(cluster, job):
    doc = next(o for o in cluster.objects if o["kind"] == "HorizontalPodAutoscaler"
               and o["metadata"]["name"] == f"workers-{job}")
    return float(doc["spec"]["metrics"][0]["object"]["target"]["averageValue"])


def set_queue(cluster, queue, n):
    r = cluster.redis
    r.cli("DEL", queue)
    if n:
        r.push(queue, n)


def test_workers_scale_on_their_queue_as_an_object_metric(cluster):
    from conftest import WORKER_BEHAVIOR, WORKER_MAX
    cp = cluster.cp
    target = worker_target(cluster, "emails")
    set_queue(cluster, "queue:emails", 0)
    set_queue(cluster, "queue:thumbnails", 0)
    # The controller reads the metric through the aggregator: ScalingActive, at minReplicas.
    ph.wait_for(lambda: conditions(worker_hpa(cp, "emails")).get("ScalingActive", ("",))[0] == "True",
                timeout=120, interval=1, message="the workers' HPA reads the object metric")
    assert worker_replicas(cp, "emails") == 1
    # Through kubectl and the aggregator, the value the HPA reads.
    doc = json.loads(cp.kubectl("get", "--raw", f"{V1}/namespaces/{WEB_NS}/deployments.apps/workers-emails/"
                                "pulse_jobs_waiting").stdout)
    assert doc["items"][0]["value"] == "0" and doc["items"][0]["describedObject"]["kind"] == "Deployment"

    jobs = int(3.5 * target)  # ceil(3.5) = 4 workers, which is also WORKER_MAX
    expected = min(math.ceil(jobs / target), WORKER_MAX)
    up_period = WORKER_BEHAVIOR["scaleUp"]["policies"][0]["periodSeconds"]
    down_window = WORKER_BEHAVIOR["scaleDown"]["stabilizationWindowSeconds"]
    points, t0 = [], time.monotonic()

    def track(n):
        if not points or points[-1][1] != n:
            points.append((time.monotonic() - t0, n))
        return n

    set_queue(cluster, "queue:emails", jobs)
    ph.wait_for(lambda: track(worker_replicas(cp, "emails")) == expected, timeout=180, interval=0.25,
                message=f"{expected} email workers")
    at_peak = worker_hpa(cp, "emails")
    metric = at_peak["status"]["currentMetrics"][0]["object"]
    assert metric["metric"]["name"] == "pulse_jobs_waiting"
    # The controller reports the per-pod average it computed: ceil(total / its replicas).
    status_replicas = at_peak["status"]["currentReplicas"]
    average = ph_quantity(metric["current"]["averageValue"])
    assert abs(average * status_replicas - jobs) < status_replicas, (metric, status_replicas)
    raw = json.loads(cp.kubectl("get", "--raw", f"{V2}/namespaces/{WEB_NS}/deployments.apps/workers-emails/"
                                "pulse_jobs_waiting").stdout)
    assert raw["items"][0]["value"] == f"{jobs * 1000}m", raw
    # The thumbnails' HPA read its own queue: still one worker.
    assert worker_replicas(cp, "thumbnails") == 1

    # The exporter stops: no value, the HPA holds its count (never reads 0 and scales down).
    cluster.exporter.stop()
    try:
        ph.wait_for(lambda: conditions(worker_hpa(cp, "emails")).get("ScalingActive", ("", ""))
                    == ("False", "FailedGetObjectMetric"), timeout=120, interval=0.5,
                    message="the HPA sees the metric missing")
        held = [worker_replicas(cp, "emails") for _ in range(int(down_window / 0.5) + 4)
                if time.sleep(0.5) is None]
        assert set(held) == {expected}, held
    finally:
        cluster.exporter.start()
    # Back: the controller reads the queue again (and records a recommendation for it
    # at each sync) before the queue drains.
    ph.wait_for(lambda: conditions(worker_hpa(cp, "emails")).get("ScalingActive", ("",))[0] == "True",
                timeout=120, interval=0.5, message="the HPA reads the metric again")
    sync = float(cp.hpa_sync.rstrip("s"))
    time.sleep(2 * sync)
    assert worker_replicas(cp, "emails") == expected

    # The queue drains: down to minReplicas, only after the stabilization window (counted
    # from the last sync that still saw the jobs, at most one sync period before).
    set_queue(cluster, "queue:emails", 0)
    drained = time.monotonic() - t0
    ph.wait_for(lambda: track(worker_replicas(cp, "emails")) == 1, timeout=240, interval=0.25,
                message="back to one email worker")
    print("email workers over time (s: replicas):", points)
    ups = [(t, n) for (t, n), (_, before) in zip(points[1:], points) if n > before]
    downs = [(t, n) for (t, n), (_, before) in zip(points[1:], points) if n < before]
    assert [n for _, n in ups] == list(range(2, expected + 1)), points
    for (t1, _), (t2, _) in zip(ups, ups[1:]):
        assert t2 - t1 >= up_period - 1, points
    assert [n for _, n in downs] == list(range(expected - 1, 0, -1)), points
    assert downs[0][0] - drained >= down_window - sync - 1, (drained, points)
    for (t1, _), (t2, _) in zip(downs, downs[1:]):
        assert t2 - t1 >= WORKER_BEHAVIOR["scaleDown"]["policies"][0]["periodSeconds"] - 1, points


# ---------------------------------------------------------------------------------------
# `pulse-sidecar hpa explain`: the controller's decision, explained from outside it.


def test_hpa_explain_agrees_with_the_controller_while_steady(cluster):
    """`hpa explain shop/web` with the admin's certificate reads what the controller reads
    (the HPA at autoscaling/v2beta2, since 1.20 does not serve v2; the Deployment's scale;
    the web pods; pulse_requests_per_second through the aggregator and the adapter) and,
    while the HPA is steady at minReplicas, decides what the controller decided: its
    status' desiredReplicas and currentReplicas."""
    import os
    import subprocess

    cp = cluster.cp
    wait_replicas(cluster, 2)

    def steady():
        doc = hpa(cp)
        s = doc.get("status") or {}
        return (conditions(doc).get("ScalingActive", ("",))[0] == "True"
                and s.get("currentReplicas") == s.get("desiredReplicas") == 2 and doc)
    ph.wait_for(steady, timeout=120, interval=1, message="the web HPA steady at 2, reading its metric")
    pki = cp.pki
    cmd = [str(ph.sidecar_path()), "hpa", "explain", f"{WEB_NS}/web",
           "--kube-api", f"https://{ke.API_IP}:{cp.port}", "--kube-ca", str(pki.path("ca.crt")),
           "--kube-client-cert", str(pki.path("admin.crt")),
           "--kube-client-key", str(pki.path("admin.key"))]
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith(("KUBERNETES_", "PULSE_KUBE_"))}
    for _ in range(3):  # the HPA must not move while it is read
        before = steady()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60, env=env)
        assert r.returncode == 0, r.stderr
        after = steady()
        if before and after and before["status"] == after["status"]:
            break
        time.sleep(2)
    else:
        pytest.fail("the web HPA kept changing while explain read it")
    out = json.loads(r.stdout)
    print("hpa explain:", json.dumps(out["decision"], indent=1), out["notes"])
    assert out["hpa"] == f"{WEB_NS}/web" and out["apiVersion"] == "autoscaling/v2beta2"
    d, status = out["decision"], after["status"]
    assert d["desiredReplicas"] == status["desiredReplicas"] == 2, (d, status)
    assert d["currentReplicas"] == status["currentReplicas"] == 2, (d, status)
    assert out["status"]["desiredReplicas"] == status["desiredReplicas"]
    metric = next(m for m in d["metrics"] if m["name"] == "pulse_requests_per_second")
    assert "averageValue" in metric.get("current", {}), d
    assert {c["type"]: (c["status"], c["reason"]) for c in d["conditions"]}["ScalingActive"] == \
        ("True", "ValidMetricFound"), d
    assert set(out["state"]["metrics"]["pods"]["pulse_requests_per_second"]) == \
        {n for n, _ in ready_pods(cluster)}
    assert out["history"].startswith("seeded as a freshly started controller would")
