"""The end-to-end fixture: one control plane for the whole run, with the project's manifests
(the legacy-1.19 overlay, as Kubernetes 1.20 needs) applied, the adapter serving behind the
aggregator, and the fake kubelet running the web pods.

Values changed from the manifests, and why (docs/autoscaling.md says the same):
- the HPA's behavior: periods and stabilization windows of seconds instead of minutes;
  maxReplicas 6; only the requests-per-second metric (the latency one would add nothing
  on an idle `return 200`);
- the APIServices' caBundle: the CA the test made for the adapter's serving certificate;
- the adapter's Service gets Endpoints written by the test (no endpoints controller and no
  adapter pod: the adapter runs as a process on ADAPTER_IP, the way its Deployment runs it);
- the adapter's Deployment is not applied (its process is started by the test); the edge's
  pods get a status from the played kubelet but run no nginx (the eviction test needs only
  their readiness).
"""

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

import yaml

import kube_env as ke
import pulse_harness as ph
from workers_harness import Redis, RedisExporter

REPO = Path(__file__).resolve().parents[2]
WEB_NS = "shop"
HPA_BEHAVIOR = {
    "scaleUp": {"selectPolicy": "Max", "stabilizationWindowSeconds": 0,
                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 8}]},
    "scaleDown": {"selectPolicy": "Max", "stabilizationWindowSeconds": 20,
                  "policies": [{"type": "Pods", "value": 1, "periodSeconds": 8}]},
}
TARGET_RPS = 20  # averageValue per pod
SIDECAR_FLAGS = ("--interval", "1s", "--window", "6s", "--stale-after", "3s")
# The workers' HPAs: the manifests' cadence in seconds instead of minutes.
WORKER_BEHAVIOR = {
    "scaleUp": {"selectPolicy": "Max", "stabilizationWindowSeconds": 0,
                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 6}]},
    "scaleDown": {"selectPolicy": "Max", "stabilizationWindowSeconds": 15,
                  "policies": [{"type": "Pods", "value": 1, "periodSeconds": 6}]},
}
WORKER_MAX = 4
# The queues the workers' exporter names (conf/kubernetes/workers/jobs/redis-exporter.yaml).
WORKER_QUEUES = ("queue:emails", "queue:thumbnails", "failed:emails", "failed:thumbnails")
# The web stack's legacy overlay and the workers on top of it: what a 1.19/1.20 cluster runs.
OVERLAY = "conf/kubernetes/workers/legacy-1.19"


def rendered_overlay():
    out = subprocess.run([str(ph.kubectl()), "kustomize", str(REPO / OVERLAY)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={"PATH": "/usr/bin:/bin", "KUBECONFIG": "/dev/null"})
    if out.returncode != 0:
        raise ke.E2EError(f"kubectl kustomize {OVERLAY}: {out.stderr}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def with_test_values(objects, pki):
    """The overlay's objects with the test's values (see the module's docstring)."""
    ca_bundle = base64.b64encode(pki.path("adapter-ca.crt").read_bytes()).decode()
    kept = []
    for o in objects:
        kind, name = o["kind"], o["metadata"]["name"]
        if kind == "Deployment" and name in ("pulse-adapter", "redis-exporter"):
            continue  # run as processes by the test
        if kind == "APIService":
            o["spec"]["caBundle"] = ca_bundle
        if kind == "HorizontalPodAutoscaler" and name.startswith("workers-"):
            assert o["apiVersion"] == "autoscaling/v2beta2", o["apiVersion"]
            assert o["spec"]["metrics"][0]["type"] == "Object", o["spec"]["metrics"]
            o["spec"]["behavior"] = json.loads(json.dumps(WORKER_BEHAVIOR))
            o["spec"]["maxReplicas"] = WORKER_MAX
        elif kind == "HorizontalPodAutoscaler":
            assert o["apiVersion"] == "autoscaling/v2beta2", o["apiVersion"]
            o["spec"]["behavior"] = json.loads(json.dumps(HPA_BEHAVIOR))
            o["spec"]["maxReplicas"] = 6
            o["spec"]["metrics"] = [m for m in o["spec"]["metrics"]
                                    if m["pods"]["metric"]["name"] == "pulse_requests_per_second"]
            o["spec"]["metrics"][0]["pods"]["target"]["averageValue"] = str(TARGET_RPS)
        kept.append(o)
    return kept


class Cluster:
    pass


@pytest.fixture(scope="session")
def cluster():
    ke.require_private_netns()
    c = Cluster()
    base = ph.build_dir() / "e2e"
    for old in ("adapter", "pods", "edge", "workers", "worker-pods"):  # logs of an earlier run say nothing of this one
        shutil.rmtree(base / old, ignore_errors=True)
    c.cp = ke.ControlPlane(base / "cluster").start()
    c.kubelet = None
    c.adapter = None
    try:
        c.objects = with_test_values(rendered_overlay(), c.cp.pki)
        c.cp.apply([o for o in c.objects if o["kind"] == "Namespace"])
        c.cp.apply([o for o in c.objects if o["kind"] != "Namespace"])
        ke.add_address(ke.ADAPTER_IP)
        c.cp.api.request("POST", "/api/v1/namespaces/pulse/endpoints", {
            "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "pulse-adapter", "namespace": "pulse"},
            "subsets": [{"addresses": [{"ip": ke.ADAPTER_IP}],
                         "ports": [{"name": "https", "port": ke.ADAPTER_PORT, "protocol": "TCP"}]}]})
        # The workers' queues: a real Redis and Debian's exporter, as processes in the
        # test's network namespace; the adapter reads the manifests' config with the
        # exporter's address and a 1 s interval.
        c.redis = Redis(base=base / "workers" / "redis").start()
        c.exporter = RedisExporter(c.redis, check_keys=(), check_single_keys=WORKER_QUEUES,
                                   base=base / "workers" / "exporter").start()
        config = yaml.safe_load(next(o for o in c.objects if o["kind"] == "ConfigMap"
                                     and o["metadata"]["name"].startswith("pulse-workers"))
                                ["data"]["workers.yaml"])
        config["sources"][0].update(url=c.exporter.url, interval="1s", timeout="1s")
        (base / "adapter").mkdir(parents=True, exist_ok=True)
        c.workers_config = base / "adapter" / "workers.yaml"
        c.workers_config.write_text(yaml.safe_dump(config))
        c.adapter = Adapter(c.cp, base / "adapter", config=c.workers_config).start()
        c.kubelet = ke.FakeKubelet(c.cp, WEB_NS, base / "pods", SIDECAR_FLAGS,
                                   selector="app.kubernetes.io/component=web").start()
        # The workers' pods: an address and a status, no processes (the queue is the signal).
        c.worker_kubelet = ke.FakeKubelet(c.cp, WEB_NS, base / "worker-pods", processes=False,
                                          net="10.244.2.",
                                          selector="app.kubernetes.io/component=worker").start()
        c.edge_kubelet = ke.FakeKubelet(c.cp, "ingress", base / "edge", processes=False,
                                        net="10.244.1.").start()
        yield c
    finally:
        for k in (c.kubelet, getattr(c, "edge_kubelet", None),
                  getattr(c, "worker_kubelet", None)):
            if k is not None:
                k.stop()
        if c.adapter is not None:
            c.adapter.stop()
        for p in (getattr(c, "exporter", None), getattr(c, "redis", None)):
            if p is not None:
                p.stop()
        c.cp.stop()


class Adapter:
    """`pulse-sidecar adapter` as conf/kubernetes/adapter/deployment.yaml runs it: the
    service account's token, the cluster's CA, and the front-proxy CA that kube-apiserver
    publishes in kube-system/extension-apiserver-authentication as its --client-ca."""

    def __init__(self, cp, dir, config=None):
        self.cp = cp
        self.config = config
        self.dir = Path(dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = None

    def _credentials(self):
        api = self.cp.api
        auth = api.get("/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication")
        (self.dir / "client-ca.crt").write_text(auth["data"]["requestheader-client-ca-file"])

        def token():
            sa = api.request("GET", "/api/v1/namespaces/pulse/serviceaccounts/pulse-adapter")[1]
            secrets = (sa or {}).get("secrets") or []
            return secrets[0]["name"] if secrets else None
        secret = ph.wait_for(token, timeout=60, interval=0.5, message="the adapter's token")
        doc = api.get(f"/api/v1/namespaces/pulse/secrets/{secret}")
        (self.dir / "token").write_bytes(base64.b64decode(doc["data"]["token"]))

    def start(self):
        self._credentials()
        pki = self.cp.pki
        self.proc = ke.Process("adapter", [
            ph.sidecar_path(), "adapter", "--listen", f"{ke.ADAPTER_IP}:{ke.ADAPTER_PORT}",
            "--tls-cert", pki.path("adapter.crt"), "--tls-key", pki.path("adapter.key"),
            "--client-ca", self.dir / "client-ca.crt",
            "--kube-api", f"https://{ke.API_IP}:{self.cp.port}", "--kube-token-file", self.dir / "token",
            "--kube-ca", pki.path("ca.crt"), "--sidecar-port", str(ke.SIDECAR_PORT),
            "--fetch-timeout", "1s", *(["--config", self.config] if self.config else [])],
            self.dir).start()
        ke.wait_port(ke.ADAPTER_IP, ke.ADAPTER_PORT, self.proc, what="the adapter")
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
            self.proc = None
