"""`pulse-sidecar adapter --config`: the workers' queue signals served to the HPA as Object
metrics (evaluated by the adapter from its own scrapes of a real Redis's exporter) and as
Pods metrics read from a worker pod's sidecar with a metricLabelSelector; Debian's kubectl
1.20 as the client, the fake Kubernetes API of the adapter tests for the pods.
"""

import json
import subprocess
import time

import pytest

import pulse_harness as ph
from certs import make_certs
from fake_kube_api import AdapterProcess, FakeKubeApi, run_adapter_expecting_exit
from workers_harness import Redis, RedisExporter

V1 = "/apis/custom.metrics.k8s.io/v1beta1"
V2 = "/apis/custom.metrics.k8s.io/v1beta2"
QUEUES = ("queue:emails", "queue:thumbnails")


def config_text(exporter_url):
    return f"""
sources:
  - name: redis
    url: {exporter_url}
    interval: 300ms
signals:
  - name: pulse_jobs_waiting
    help: Jobs waiting in each queue.
    expr: sum by (job) (label_replace(redis_key_size{{key=~"queue:.+"}}, "job", "$1", "key", "queue:(.+)"))
    objects:
      - namespace: shop
        resource: deployments
        name: workers-emails
        match: {{job: emails}}
      - namespace: shop
        resource: deployments
        name: workers-thumbnails
        match: {{job: thumbnails}}
  - name: pulse_jobs_oldest_seconds
    expr: max by (job) (label_replace(redis_key_size{{key=~"queue:.+"}}, "job", "$1", "key", "queue:(.+)")) * 0
"""


class Workers:
    pass


def kubectl(w, *args):
    cmd = [str(ph.kubectl()), "--server", w.adapter.base_url,
           "--certificate-authority", str(w.certs.ca), "--request-timeout", "20s",
           "--client-certificate", str(w.certs.client_cert),
           "--client-key", str(w.certs.client_key), *args]
    env = {"KUBECONFIG": "/dev/null", "HOME": str(w.home), "PATH": "/usr/bin:/bin"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


def raw(w, path):
    rc, out, err = kubectl(w, "get", "--raw", path)
    assert rc == 0, f"kubectl get --raw {path}: rc {rc}\n{err}"
    return json.loads(out)


def milli(n):
    return "0" if n == 0 else f"{n * 1000}m"


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    w = Workers()
    w.home = tmp_path_factory.mktemp("kubectl-home")
    w.certs = make_certs(tmp_path_factory.mktemp("certs"))
    started = []
    try:
        w.redis = Redis(base=tmp_path_factory).start()
        started.append(w.redis)
        # Named queues: a missing (empty) list is exported as 0, not left out.
        w.exporter = RedisExporter(w.redis, check_keys=(), check_single_keys=QUEUES,
                                   base=tmp_path_factory).start()
        started.append(w.exporter)
        config = tmp_path_factory.mktemp("config") / "workers.yaml"
        config.write_text(config_text(w.exporter.url))
        # A worker pod's sidecar, without nginx, serving the same signals per pod.
        w.sidecar = ph.Sidecar("none", "--config", str(config), base=tmp_path_factory).start()
        started.append(w.sidecar)
        w.kube = FakeKubeApi(w.certs.server_cert, w.certs.server_key,
                             namespaces=("default", "shop")).start()
        started.append(w.kube)
        w.kube.add_pod("workers-emails-1", ns="shop", labels={"app": "workers-emails"},
                       sidecar_port=w.sidecar.port)
        w.adapter = AdapterProcess(w.certs, w.kube, "--config", str(config),
                                   dir=tmp_path_factory.mktemp("adapter"))
        w.adapter.start()
        started.append(w.adapter)
        ph.wait_for(lambda: w.adapter.request("/readyz", cert=False)[0] == 200,
                    message="adapter ready")
        yield w
    finally:
        for p in reversed(started):
            p.stop()
        if getattr(w, "adapter", None) is not None:
            print(f"--- adapter log (tail) ---\n{ph.tail(w.adapter.log_path, 40)}")


def object_value(w, name, version=V2, resource="deployments.apps"):
    doc = raw(w, f"{version}/namespaces/shop/{resource}/{name}/pulse_jobs_waiting")
    assert doc["kind"] == "MetricValueList" and len(doc["items"]) == 1, doc
    return doc["items"][0]


def follow(w, name, n):
    """Waits until the adapter's object value is n jobs (the first scrape after a change;
    a 404 while the source comes back is waited through)."""
    def at_n():
        status, doc = w.adapter.get_json(
            f"{V2}/namespaces/shop/deployments.apps/{name}/pulse_jobs_waiting")
        if status != 200:
            return None
        [item] = doc["items"]
        return item if item["value"] == milli(n) else None
    found = ph.wait_for(at_n, interval=0.1, message=f"{name} at {n} jobs")
    assert object_value(w, name)["value"] == milli(n)  # and kubectl reads the same
    return found


def test_discovery_lists_the_object_and_pod_metrics(workers):
    for version in (V1, V2):
        names = {r["name"] for r in raw(workers, version)["resources"]}
        assert "deployments.apps/pulse_jobs_waiting" in names
        assert "pods/pulse_jobs_waiting" in names
        assert "pods/pulse_jobs_oldest_seconds" in names
        # Not attached to any object: no object resource for it.
        assert not any(n.endswith("/pulse_jobs_oldest_seconds") and not n.startswith("pods/")
                       for n in names)
    rc, out, err = kubectl(workers, "api-resources", "--api-group", "custom.metrics.k8s.io")
    assert rc == 0, err


def test_object_metric_follows_the_queue(workers):
    r = workers.redis
    for q in QUEUES:
        r.cli("DEL", q)
    follow(workers, "workers-emails", 0)
    r.push("queue:emails", 7)
    r.push("queue:thumbnails", 2)
    item = follow(workers, "workers-emails", 7)
    assert item["describedObject"] == {"kind": "Deployment", "apiVersion": "apps/v1",
                                       "namespace": "shop", "name": "workers-emails"}
    assert item["metric"] == {"name": "pulse_jobs_waiting", "selector": None}
    assert item["windowSeconds"] == 0
    assert follow(workers, "workers-thumbnails", 2)
    # The HPA asks with the group in the resource; kubectl users may not: same answer.
    plain = object_value(workers, "workers-emails", resource="deployments")
    assert plain["value"] == milli(7)
    v1 = object_value(workers, "workers-emails", version=V1)
    assert v1["metricName"] == "pulse_jobs_waiting" and v1["value"] == milli(7)
    assert set(v1) == {"describedObject", "metricName", "timestamp", "window", "value",
                       "selector"}
    r.pop("queue:emails", 5)
    follow(workers, "workers-emails", 2)
    # Every attached object of the resource at once.
    doc = raw(workers, f"{V2}/namespaces/shop/deployments.apps/*/pulse_jobs_waiting")
    assert {i["describedObject"]["name"]: i["value"] for i in doc["items"]} == {
        "workers-emails": milli(2), "workers-thumbnails": milli(2)}


def test_pods_metric_with_a_metric_label_selector(workers):
    r = workers.redis
    r.cli("DEL", "queue:emails")
    r.push("queue:emails", 3)
    follow(workers, "workers-emails", 3)

    def pod_value():
        doc = raw(workers, f"{V2}/namespaces/shop/pods/*/pulse_jobs_waiting"
                           "?metricLabelSelector=job%3Demails")
        items = doc["items"]
        return items if items and items[0]["value"] == milli(3) else None

    [item] = ph.wait_for(pod_value, interval=0.1, message="the pod's sidecar at 3 jobs")
    assert item["describedObject"] == {"kind": "Pod", "namespace": "shop",
                                       "name": "workers-emails-1", "apiVersion": "/v1"}
    assert item["metric"] == {"name": "pulse_jobs_waiting",
                              "selector": {"matchLabels": {"job": "emails"}}}
    # A selector no series has: the pod has no value, the list is empty.
    doc = raw(workers, f"{V2}/namespaces/shop/pods/*/pulse_jobs_waiting"
                       "?metricLabelSelector=job%3Dnope")
    assert doc["items"] == []


def status_of(w, path):
    status, doc = w.adapter.get_json(path)
    assert doc["kind"] == "Status" and doc["code"] == status, doc
    return status, doc["reason"], doc["message"]


def test_not_found_and_bad_requests(workers):
    base = f"{V2}/namespaces/shop"
    assert status_of(workers, f"{base}/deployments.apps/workers-nope/pulse_jobs_waiting") == (
        404, "NotFound",
        "the server could not find the metric pulse_jobs_waiting for deployments.apps workers-nope")
    assert status_of(workers, f"{V2}/namespaces/other/deployments.apps/workers-emails/"
                              "pulse_jobs_waiting")[:2] == (404, "NotFound")
    assert status_of(workers, f"{base}/statefulsets.apps/workers-emails/pulse_jobs_waiting"
                     )[:2] == (404, "NotFound")
    assert status_of(workers, f"{base}/deployments.extensions/workers-emails/"
                              "pulse_jobs_waiting")[:2] == (404, "NotFound")
    assert status_of(workers, f"{base}/deployments.apps/workers-emails/pulse_jobs_oldest_seconds"
                     )[:2] == (404, "NotFound")
    assert status_of(workers, f"{base}/metrics/pulse_jobs_waiting")[:2] == (404, "NotFound")
    status, reason, message = status_of(
        workers, f"{base}/pods/*/pulse_jobs_waiting?metricLabelSelector=job+in+%28a%29")
    assert (status, reason) == (400, "BadRequest") and "label=value" in message
    rc, _, err = kubectl(workers, "get", "--raw",
                         f"{base}/deployments.apps/workers-nope/pulse_jobs_waiting")
    assert rc != 0 and "could not find the metric" in err


def test_exporter_down_means_no_value_not_zero(workers):
    r = workers.redis
    r.cli("DEL", "queue:emails")
    r.push("queue:emails", 4)
    follow(workers, "workers-emails", 4)
    workers.exporter.stop()
    try:
        def gone():
            status, doc = workers.adapter.get_json(
                f"{V2}/namespaces/shop/deployments.apps/workers-emails/pulse_jobs_waiting")
            return doc if status == 404 else None

        doc = ph.wait_for(gone, interval=0.1, message="the object metric gone")
        assert doc["reason"] == "NotFound"
        assert "source redis is down" in doc["message"], doc
        doc = raw(workers, f"{V2}/namespaces/shop/deployments.apps/*/pulse_jobs_waiting")
        assert doc["items"] == []
        # The pod's sidecar says the same: its pod is left out, not served as 0.
        ph.wait_for(lambda: (lambda d: d if d["items"] == [] else None)(raw(
            workers, f"{V2}/namespaces/shop/pods/*/pulse_jobs_waiting"
                     "?metricLabelSelector=job%3Demails")), interval=0.1,
            message="the pod's value gone")
        status, _, body = workers.adapter.request("/metrics", cert=False)
        assert status == 200 and 'pulse_source_up{source="redis"} 0' in body.decode()
    finally:
        workers.exporter.start()
    follow(workers, "workers-emails", 4)


def test_adapter_metrics_show_the_sources(workers):
    status, _, body = workers.adapter.request("/metrics", cert=False)
    assert status == 200
    text = body.decode()
    assert 'pulse_source_up{source="redis"} 1' in text
    assert 'pulse_jobs_waiting{job="emails"}' in text
    ph.promtool_check_metrics(text)


def test_bad_config_stops_the_adapter(workers, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("signals:\n  - name: pulse_x\n    expr: rate(x)\n")
    cmd = AdapterProcess(workers.certs, workers.kube, "--config", str(bad), dir=tmp_path).cmd
    rc, log = run_adapter_expecting_exit(cmd)
    assert rc == 2, log
    assert "bad.yaml" in log and "pulse_x" in log, log
