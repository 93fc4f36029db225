"""conf/kubernetes: every kustomization renders with Debian's kubectl 1.20, every object of
every rendering validates against the Kubernetes API schemas, and the manifests keep the
promises the docs make (HPA behavior, probes and drain, the ingress hardening, the adapter's
APIServices and RBAC, no key material in the repository).

Validation: tests/k8s-validate/validate.js (Node.js; `npm ci` there on first use, from its
package-lock.json): the JSON Schemas of the npm package kubernetes-models (Kubernetes 1.33's
API, which keeps autoscaling/v2beta2 and policy/v1beta1), unknown fields by a TypeScript
type check against the same package's interfaces, and a set of rules kube-apiserver
enforces that the schemas lack. The legacy-1.19 rendering is also checked field by field
against the Kubernetes 1.22 API models of Debian's python3-kubernetes 22.6.

The commands of docs/architecture.md, docs/autoscaling.md, docs/ingress-health.md,
docs/README.md and conf/kubernetes/README.md are run here as written (blocks marked
`<!-- test: run -->`); those that need a cluster are marked `<!-- test: cluster -->`, and
every shell block carries one of the two marks.
"""

import ast
import copy
import fcntl
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

import pulse_harness as ph

REPO = ph.REPO_ROOT
KDIR = REPO / "conf" / "kubernetes"
VALIDATOR = REPO / "tests" / "k8s-validate"

KUSTOMIZATIONS = (
    "web", "base", "adapter", "ingress",
    "overlays/websocket", "overlays/production", "overlays/sidecar-container",
    "overlays/legacy-1.19",
    "workers", "workers/jobs", "workers/legacy-1.19",
)
# Renderings that contain each piece, and how its sidecar runs.
NATIVE = ("base", "ingress", "overlays/websocket", "overlays/production")
ORDINARY = ("overlays/sidecar-container", "overlays/legacy-1.19")
EVERYTHING = ("overlays/production", "overlays/sidecar-container", "overlays/legacy-1.19")

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "APIService", "PriorityClass"}

DOCS = (
    REPO / "docs" / "README.md",
    REPO / "docs" / "architecture.md",
    REPO / "docs" / "autoscaling.md",
    REPO / "docs" / "ingress-health.md",
    KDIR / "README.md",
    KDIR / "workers" / "README.md",
)
# Every page docs/README.md maps (the lead's list); each must exist and be linked.
DOC_PAGES = ("directives", "metrics", "cache-policy", "sidecar", "adapter", "container",
             "operations", "migration", "building", "autoscaling", "ingress-health",
             "architecture")


# ---------------------------------------------------------------------------
# tools


def kubectl_env(home):
    # An empty kubeconfig: nothing of a real cluster is ever read.
    return {"KUBECONFIG": "/dev/null", "HOME": str(home), "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8"}


def render(path, home):
    r = subprocess.run([str(ph.kubectl()), "kustomize", str(path)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120, env=kubectl_env(home))
    assert r.returncode == 0, f"kubectl kustomize {path} failed:\n{r.stderr}"
    return r.stdout


def node_binary():
    for d in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/bin", "/usr/local/bin"]:
        p = Path(d) / "node"
        if p.is_file() and os.access(p, os.X_OK):
            return p
    pytest.fail("node (Node.js 18+) is missing: scripts/install-deps.sh installs nodejs and npm",
                pytrace=False)


def npm_binary(node):
    for p in (node.parent / "npm", Path("/usr/bin/npm"), Path("/usr/local/bin/npm")):
        if p.exists():
            return p
    pytest.fail("npm is missing: scripts/install-deps.sh installs it", pytrace=False)


@pytest.fixture(scope="session")
def validator():
    """The validator's command prefix, after `npm ci` in tests/k8s-validate when its
    node_modules is missing or was installed from another lockfile."""
    node = node_binary()
    r = subprocess.run([str(node), "--version"], stdout=subprocess.PIPE, text=True)
    major = int(re.match(r"v(\d+)", r.stdout).group(1))
    assert major >= 18, f"Node.js 18 or newer is needed, found {r.stdout.strip()}"
    lock_bytes = (VALIDATOR / "package.json").read_bytes() + (VALIDATOR / "package-lock.json").read_bytes()
    want = hashlib.sha256(lock_bytes).hexdigest()
    stamp = VALIDATOR / "node_modules" / ".pulse-installed-from"
    ph.build_dir().mkdir(parents=True, exist_ok=True)
    with open(ph.build_dir() / ".k8s-validate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent test runs share the folder
        if not stamp.is_file() or stamp.read_text().strip() != want:
            env = dict(os.environ)
            env["PATH"] = f"{node.parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
            r = subprocess.run([str(npm_binary(node)), "ci", "--no-audit", "--no-fund",
                                "--ignore-scripts"], cwd=VALIDATOR, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=600, env=env)
            assert r.returncode == 0, f"npm ci in {VALIDATOR} failed:\n{r.stdout[-4000:]}"
            stamp.write_text(want + "\n")
    return [str(node), str(VALIDATOR / "validate.js")]


def validate(validator, *files):
    """Run the validator on files; returns (exit code, report dict)."""
    r = subprocess.run([*validator, "--json", "--objects", *map(str, files)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    assert r.returncode in (0, 1), f"validator failed to run (exit {r.returncode}):\n{r.stderr}"
    return r.returncode, json.loads(r.stdout)


@pytest.fixture(scope="module")
def rendered(validator, tmp_path_factory):
    """{kustomization: [objects]}, every rendering validated (errors kept per object)."""
    out = tmp_path_factory.mktemp("rendered")
    home = tmp_path_factory.mktemp("kubectl-home")
    files = {}
    for name in KUSTOMIZATIONS:
        f = out / (name.replace("/", "_") + ".yaml")
        f.write_text(render(KDIR / name, home))
        files[str(f)] = name
    code, report = validate(validator, *files)
    result = {name: [] for name in KUSTOMIZATIONS}
    for entry in report["objects"]:
        result[files[entry["source"]]].append(entry)
    result["_exit"] = code
    return result


def objects(rendered, name):
    return [e["object"] for e in rendered[name]]


def find(objs, kind, name, namespace=None):
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name
             and (namespace is None or o["metadata"].get("namespace") == namespace)]
    assert len(found) == 1, f"expected one {kind} {namespace}/{name}, found {len(found)}"
    return found[0]


def all_of(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def container(spec, name, init=None):
    lists = {"init": spec.get("initContainers", []), "main": spec.get("containers", [])}
    pool = lists[init] if init else lists["init"] + lists["main"]
    found = [c for c in pool if c["name"] == name]
    assert len(found) == 1, f"container {name}: {len(found)} found"
    return found[0]


def port_of(c, name):
    ports = [p["containerPort"] for p in c.get("ports", []) if p.get("name") == name]
    assert len(ports) == 1, f"{c['name']} has no port named {name}"
    return ports[0]


def flag(args, name):
    assert name in args, f"{name} missing in {args}"
    return args[args.index(name) + 1]


def seconds(text):
    m = re.fullmatch(r"(\d+)s", text)
    assert m, f"expected a duration in whole seconds, got {text!r}"
    return int(m.group(1))


def prestop(c):
    """(sleep seconds, drain timeout seconds) of a container's preStop hook."""
    cmd = c["lifecycle"]["preStop"]["exec"]["command"]
    assert cmd[:2] == ["/bin/sh", "-c"], cmd
    script = cmd[2]
    m = re.fullmatch(r"sleep (\d+) && (?:exec )?pulse-sidecar drain --timeout (\d+s)"
                     r"(?:; status=\$\?; sleep \d+; exit \$status)?", script)
    assert m, f"preStop is not `sleep N && pulse-sidecar drain --timeout Ns`: {script!r}"
    return int(m.group(1)), seconds(m.group(2))


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


# ---------------------------------------------------------------------------
# rendering and validation


def test_every_kustomization_is_tested():
    found = {str(p.parent.relative_to(KDIR)) for p in KDIR.rglob("kustomization.yaml")}
    assert found == set(KUSTOMIZATIONS)


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_renders_and_validates(rendered, name):
    entries = rendered[name]
    assert entries, f"{name} rendered no object"
    problems = [f"{e['kind']} {e.get('namespace') or ''}/{e['name']}: {err}"
                for e in entries for err in e["errors"]]
    assert not problems, "\n".join(problems)


def test_validation_run_exits_clean(rendered):
    assert rendered["_exit"] == 0


BROKEN = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: fine, namespace: t}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      initContainers: [{name: side, image: i, restartPolicy: Always}]
      containers: [{name: c, image: i}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: replicas-two, namespace: t}
spec:
  replicas: "two"
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      containers: [{name: c, image: i}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: unknown-field, namespace: t}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      containers:
      - name: c
        image: i
        readinessProbe: {httpGet: {path: /readyz, port: 9145}, periodSecond: 2}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: hourly-period, namespace: t}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: fine}
  minReplicas: 2
  maxReplicas: 4
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 3600
      policies: [{type: Pods, value: 1, periodSeconds: 3600}]
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: namespaced, namespace: t}
value: 1000
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: unknown-kind}
"""


def test_validator_rejects_broken_manifests(validator, tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text(BROKEN)
    code, report = validate(validator, f)
    assert code == 1
    errors = {e["name"]: e["errors"] for e in report["objects"]}
    assert errors["fine"] == []
    assert any(e.startswith("schema:") and "replicas" in e for e in errors["replicas-two"]), errors
    assert any(e.startswith("strict:") and "readinessProbe.periodSecond" in e
               for e in errors["unknown-field"]), errors
    assert any(e.startswith("server:") and "periodSeconds" in e for e in errors["hourly-period"]), errors
    assert any("cluster-scoped" in e for e in errors["namespaced"]), errors
    assert any("not a Kubernetes API type" in e for e in errors["unknown-kind"]), errors

    good = tmp_path / "good.yaml"
    good.write_text(BROKEN.split("---")[0])
    assert validate(validator, good)[0] == 0


WEB_BREAKAGES = {
    # a misspelt field, deep in the pod spec
    "typo": (lambda d: d["spec"]["template"]["spec"].update(
        topologySpreadConstraint=d["spec"]["template"]["spec"].pop("topologySpreadConstraints")),
        "strict: spec.template.spec.topologySpreadConstraint:"),
    # a wrong type
    "replicas": (lambda d: d["spec"].update(replicas="two"), "schema: data/spec/replicas must be integer"),
    # a probe on a port name the container does not have
    "probe-port": (lambda d: container(d["spec"]["template"]["spec"], "nginx")["readinessProbe"]["httpGet"]
                   .update(port="sidecar"), "is not a port name of this container"),
    # a sidecar that is no longer a native sidecar
    "restart": (lambda d: container(d["spec"]["template"]["spec"], "pulse-sidecar").update(restartPolicy="Never"),
                "only an init container may set it"),
}


def test_validator_rejects_a_broken_web_deployment(validator, rendered, tmp_path):
    docs = []
    for case, (breakage, _) in WEB_BREAKAGES.items():
        d = copy.deepcopy(find(objects(rendered, "base"), "Deployment", "web"))
        d["metadata"]["name"] = f"web-{case}"
        breakage(d)
        docs.append(json.dumps(d))                    # JSON is YAML
    f = tmp_path / "web.yaml"
    f.write_text("\n---\n".join(docs))
    code, report = validate(validator, f)
    assert code == 1
    errors = {e["name"]: e["errors"] for e in report["objects"]}
    for case, (_, expect) in WEB_BREAKAGES.items():
        assert any(expect in e for e in errors[f"web-{case}"]), (case, errors[f"web-{case}"])


def test_namespaced_objects_name_their_namespace(rendered):
    for name in KUSTOMIZATIONS:
        for o in objects(rendered, name):
            if o["kind"] in CLUSTER_SCOPED:
                assert "namespace" not in o["metadata"], (name, o["kind"], o["metadata"])
            else:
                assert o["metadata"].get("namespace"), (name, o["kind"], o["metadata"]["name"])


# ---------------------------------------------------------------------------
# the HPA


def base_hpa(rendered):
    return find(objects(rendered, "base"), "HorizontalPodAutoscaler", "web", "shop")


def metric_names(hpa):
    names = []
    for m in hpa["spec"]["metrics"]:
        assert m["type"] == "Pods", m
        assert m["pods"]["target"]["type"] == "AverageValue", m
        names.append(m["pods"]["metric"]["name"])
    return names


def test_hpa_scales_on_nginx_signals_with_hourly_scale_down(rendered):
    hpa = base_hpa(rendered)
    assert hpa["apiVersion"] == "autoscaling/v2"
    spec = hpa["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert metric_names(hpa) == ["pulse_requests_per_second", "pulse_request_duration_p95_seconds"]
    assert 2 <= spec["minReplicas"] < spec["maxReplicas"]
    up, down = spec["behavior"]["scaleUp"], spec["behavior"]["scaleDown"]
    # Up: one pod per 5 minutes at most.
    assert up["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 300}]
    assert up["selectPolicy"] == "Max"
    assert 0 <= up["stabilizationWindowSeconds"] <= 300
    # Down: an hour of stabilization (the API's maximum), then one pod per 1800 s, the
    # longest policy period the API accepts (the validator's server rules reject 3600).
    assert down["stabilizationWindowSeconds"] == 3600
    assert down["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 1800}]
    assert down["selectPolicy"] == "Max"
    # The HPA owns the replica count.
    deployment = find(objects(rendered, "base"), "Deployment", "web", "shop")
    assert "replicas" not in deployment["spec"]


def test_websocket_variant_scales_on_live_sessions(rendered):
    base, ws = objects(rendered, "base"), objects(rendered, "overlays/websocket")
    hpa = find(ws, "HorizontalPodAutoscaler", "web", "shop")
    assert metric_names(hpa) == ["pulse_websocket_connections", "pulse_request_duration_p95_seconds"]
    assert hpa["spec"]["behavior"] == base_hpa(rendered)["spec"]["behavior"]
    # Nothing else differs from the base.
    assert [o for o in ws if o["kind"] != "HorizontalPodAutoscaler"] == \
           [o for o in base if o["kind"] != "HorizontalPodAutoscaler"]


def test_legacy_overlay_uses_the_old_api_versions_with_the_same_specs(rendered):
    legacy, current = objects(rendered, "overlays/legacy-1.19"), objects(rendered, "overlays/sidecar-container")
    hpa = find(legacy, "HorizontalPodAutoscaler", "web", "shop")
    assert hpa["apiVersion"] == "autoscaling/v2beta2"
    assert hpa["spec"] == base_hpa(rendered)["spec"]
    pdbs = all_of(legacy, "PodDisruptionBudget")
    assert {p["metadata"]["name"] for p in pdbs} == {"web", "pulse-adapter", "edge"}
    for p in pdbs:
        assert p["apiVersion"] == "policy/v1beta1"
        same = find(current, "PodDisruptionBudget", p["metadata"]["name"], p["metadata"]["namespace"])
        assert same["apiVersion"] == "policy/v1" and same["spec"] == p["spec"]
    assert not [o for o in legacy if o["apiVersion"] in ("autoscaling/v2", "policy/v1")]
    # Everything but those, and the edge Service's traffic policy, is the same.
    def rest(objs):
        return [o for o in objs if o["kind"] not in ("HorizontalPodAutoscaler", "PodDisruptionBudget", "Service")
                or (o["kind"] == "Service" and o["metadata"]["name"] != "edge")]
    assert rest(legacy) == rest(current)
    old_edge, edge = find(legacy, "Service", "edge", "ingress"), find(current, "Service", "edge", "ingress")
    assert edge["spec"]["externalTrafficPolicy"] == "Local"
    assert old_edge["spec"]["externalTrafficPolicy"] == "Cluster"
    assert dict(old_edge["spec"], externalTrafficPolicy="Local") == edge["spec"]


# ---------------------------------------------------------------------------
# probes, drain, resources


WORKLOADS = (("web", "shop"), ("edge", "ingress"))


def workload_renderings(native):
    out = []
    for r in (NATIVE if native else ORDINARY):
        for name, ns in WORKLOADS:
            if r in ("base", "overlays/websocket") and name == "edge":
                continue
            if r == "ingress" and name == "web":
                continue
            out.append((r, name, ns))
    return out


def shutdown_timeout(workload):
    """nginx's worker_shutdown_timeout (s) in the workload's config (10 when unset)."""
    conf = (REPO / "conf" / "nginx" / ("web.conf" if workload == "web" else "ingress.conf")).read_text()
    m = re.search(r"^\s*worker_shutdown_timeout\s+(\d+)s;", conf, re.M)
    return int(m.group(1)) if m else 10


def check_drain(pod, nginx, workload):
    grace = pod["terminationGracePeriodSeconds"]
    wait, timeout = prestop(nginx)
    # The kubelet kills after the grace period: it must cover the wait, a full drain and
    # nginx's graceful stop (which closes what is left after worker_shutdown_timeout).
    assert grace >= wait + timeout + shutdown_timeout(workload), (grace, wait, timeout)
    return wait, timeout


@pytest.mark.parametrize("rendering,name,ns", workload_renderings(native=True))
def test_native_sidecar_readiness_and_drain(rendered, rendering, name, ns):
    d = find(objects(rendered, rendering), "Deployment", name, ns)
    pod = d["spec"]["template"]["spec"]
    sidecar = container(pod, "pulse-sidecar", init="init")
    nginx = container(pod, "nginx", init="main")
    assert sidecar["restartPolicy"] == "Always"
    assert "pulse-sidecar" in sidecar["image"] and "pulse-nginx" in nginx["image"]
    args = sidecar["args"]
    assert args[0] == "run"
    sidecar_port = port_of(sidecar, "pulse-sidecar")
    assert flag(args, "--listen") == f"0.0.0.0:{sidecar_port}"
    assert flag(args, "--scrape") == f"http://127.0.0.1:{port_of(nginx, 'pulse-nginx')}/metrics"
    for probe in ("startupProbe", "livenessProbe"):
        assert sidecar[probe]["httpGet"] == {"path": "/healthz", "port": sidecar_port}
    # Readiness is the sidecar's /readyz, probed from the nginx container.
    assert nginx["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": sidecar_port}
    assert nginx["readinessProbe"]["periodSeconds"] <= 2
    assert nginx["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port_of(nginx, "pulse-nginx")}
    _, timeout = check_drain(pod, nginx, name)
    assert seconds(flag(args, "--drain-timeout")) == timeout
    for c in pod.get("initContainers", []) + pod["containers"]:
        assert {"cpu", "memory"} <= set(c["resources"]["requests"]), c["name"]
        assert "memory" in c["resources"]["limits"], c["name"]


@pytest.mark.parametrize("rendering,name,ns", workload_renderings(native=False))
def test_ordinary_sidecar_keeps_the_same_probes_and_drain(rendered, rendering, name, ns):
    native_rendering = "base" if name == "web" else "ingress"
    native = find(objects(rendered, native_rendering), "Deployment", name, ns)
    d = find(objects(rendered, rendering), "Deployment", name, ns)
    npod, pod = native["spec"]["template"]["spec"], d["spec"]["template"]["spec"]
    for c in pod.get("initContainers", []) + pod["containers"]:
        assert "restartPolicy" not in c, c["name"]
    sidecar = container(pod, "pulse-sidecar", init="main")
    native_sidecar = dict(container(npod, "pulse-sidecar", init="init"))
    native_sidecar.pop("restartPolicy")
    assert {k: v for k, v in sidecar.items() if k != "lifecycle"} == native_sidecar
    nginx = container(pod, "nginx", init="main")
    assert nginx == container(npod, "nginx", init="main")
    wait, timeout = check_drain(pod, nginx, name)
    # The sidecar's own hook: the same wait and drain, so it answers until nginx's is over.
    assert prestop(sidecar) == (wait, timeout)
    assert "; sleep" in sidecar["lifecycle"]["preStop"]["exec"]["command"][2]
    # The rest of the pod is unchanged.
    strip = lambda p: {k: v for k, v in p.items() if k not in ("initContainers", "containers")}
    assert strip(pod) == strip(npod)
    assert [c["name"] for c in pod["containers"]] == [c["name"] for c in npod["containers"]] + ["pulse-sidecar"]


# ---------------------------------------------------------------------------
# the ingress


def core_node_group(pod):
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "node-group", "operator": "In", "values": ["core"]}]}]
    assert {"key": "node-group", "operator": "Equal", "value": "core", "effect": "NoSchedule"} in pod["tolerations"]


@pytest.mark.parametrize("rendering", ("ingress",) + EVERYTHING)
def test_ingress_is_hardened_against_pod_moves(rendered, rendering):
    objs = objects(rendered, rendering)
    d = find(objs, "Deployment", "edge", "ingress")
    tpl = d["spec"]["template"]
    pod, labels = tpl["spec"], tpl["metadata"]["labels"]
    assert d["spec"]["replicas"] >= 2
    assert d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pdb = find(objs, "PodDisruptionBudget", "edge", "ingress")
    assert pdb["spec"]["maxUnavailable"] == 1 and "minAvailable" not in pdb["spec"]
    assert matches(pdb["spec"]["selector"], labels)
    spread = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
    assert set(spread) == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    for c in spread.values():
        assert c["maxSkew"] == 1 and matches(c["labelSelector"], labels)
    core_node_group(pod)
    assert tpl["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
    find(objs, "PriorityClass", pod["priorityClassName"])
    svc = find(objs, "Service", "edge", "ingress")
    assert svc["spec"]["type"] == "LoadBalancer"
    assert matches({"matchLabels": svc["spec"]["selector"]}, labels)
    ports = {c["name"]: c for c in pod["containers"]}["nginx"]["ports"]
    assert {p["targetPort"] for p in svc["spec"]["ports"]} <= {p["name"] for p in ports}


def test_web_pods_are_evictable_and_spread(rendered):
    d = find(objects(rendered, "base"), "Deployment", "web", "shop")
    tpl = d["spec"]["template"]
    assert tpl["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "true"
    assert d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    keys = {c["topologyKey"] for c in tpl["spec"]["topologySpreadConstraints"]}
    assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    pdb = find(objects(rendered, "base"), "PodDisruptionBudget", "web", "shop")
    assert pdb["spec"]["maxUnavailable"] == 1 and matches(pdb["spec"]["selector"], tpl["metadata"]["labels"])
    svc = find(objects(rendered, "base"), "Service", "web", "shop")
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]


# ---------------------------------------------------------------------------
# the adapter


def test_adapter_deployment_service_and_apiservices(rendered):
    objs = objects(rendered, "adapter")
    d = find(objs, "Deployment", "pulse-adapter", "pulse")
    pod, labels = d["spec"]["template"]["spec"], d["spec"]["template"]["metadata"]["labels"]
    assert d["spec"]["replicas"] == 2
    pdb = find(objs, "PodDisruptionBudget", "pulse-adapter", "pulse")
    assert pdb["spec"]["maxUnavailable"] == 1 and matches(pdb["spec"]["selector"], labels)
    core_node_group(pod)
    (c,) = pod["containers"]
    args = c["args"]
    assert args[0] == "adapter"
    port = port_of(c, "pulse-adapter")
    assert flag(args, "--listen") == f"0.0.0.0:{port}"
    assert flag(args, "--sidecar-port") == "9145"
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        assert c[probe]["httpGet"] == {"path": path, "port": port, "scheme": "HTTPS"}
    # TLS: the serving pair from the Secret, the client CA from the ConfigMap copy.
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["tls"]["secret"] == {"secretName": "pulse-adapter-tls"}
    assert flag(args, "--tls-cert") == f"{mounts['tls']}/tls.crt"
    assert flag(args, "--tls-key") == f"{mounts['tls']}/tls.key"
    assert volumes["front-proxy-ca"]["configMap"] == {"name": "pulse-adapter-front-proxy-ca"}
    assert flag(args, "--client-ca") == f"{mounts['front-proxy-ca']}/requestheader-client-ca-file"

    svc = find(objs, "Service", "pulse-adapter", "pulse")
    assert svc["spec"]["ports"] == [{"name": "https", "port": 443, "targetPort": "pulse-adapter", "protocol": "TCP"}]
    assert matches({"matchLabels": svc["spec"]["selector"]}, labels)
    apis = {a["metadata"]["name"]: a["spec"] for a in all_of(objs, "APIService")}
    assert set(apis) == {"v1beta1.custom.metrics.k8s.io", "v1beta2.custom.metrics.k8s.io"}
    for name, spec in apis.items():
        assert spec["group"] == "custom.metrics.k8s.io" and name == f"{spec['version']}.custom.metrics.k8s.io"
        assert spec["service"] == {"name": "pulse-adapter", "namespace": "pulse", "port": 443}
        assert "caBundle" not in spec and spec.get("insecureSkipTLSVerify", False) is False
    assert apis["v1beta2.custom.metrics.k8s.io"]["versionPriority"] > apis["v1beta1.custom.metrics.k8s.io"]["versionPriority"]


def test_adapter_rbac(rendered):
    objs = objects(rendered, "adapter")
    d = find(objs, "Deployment", "pulse-adapter", "pulse")
    sa_name = d["spec"]["template"]["spec"]["serviceAccountName"]
    find(objs, "ServiceAccount", sa_name, "pulse")
    sa = {"kind": "ServiceAccount", "name": sa_name, "namespace": "pulse"}

    def bound(kind, role_kind, role_name, namespace=None):
        return [b for b in all_of(objs, kind) if b["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name}
            and sa in b["subjects"] and (namespace is None or b["metadata"]["namespace"] == namespace)]

    assert bound("ClusterRoleBinding", "ClusterRole", "system:auth-delegator")
    assert bound("RoleBinding", "Role", "extension-apiserver-authentication-reader", "kube-system")
    own = [b["roleRef"]["name"] for b in all_of(objs, "ClusterRoleBinding")
           if sa in b["subjects"] and b["roleRef"]["name"] != "system:auth-delegator"]
    rules = [r for name in own for r in find(objs, "ClusterRole", name)["rules"]]
    assert any(r["apiGroups"] == [""] and "pods" in r["resources"] and {"get", "list"} <= set(r["verbs"])
               for r in rules), rules
    hpa_sa = {"kind": "ServiceAccount", "name": "horizontal-pod-autoscaler", "namespace": "kube-system"}
    readers = [b["roleRef"]["name"] for b in all_of(objs, "ClusterRoleBinding") if hpa_sa in b["subjects"]]
    assert any(r["apiGroups"] == ["custom.metrics.k8s.io"] and {"get", "list"} <= set(r["verbs"])
               for name in readers for r in find(objs, "ClusterRole", name)["rules"])


# ---------------------------------------------------------------------------
# the workers (conf/kubernetes/workers): HPAs on a queue's length, served by the adapter
# from its --config file


WORKERS = ("workers", "workers/legacy-1.19")
WORKERS_CADENCE = {
    # up: at most one pod per 5 minutes
    "scaleUp": {"selectPolicy": "Max", "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}]},
    # down: an hour of stabilization (the API's maximum), then one pod per 5 minutes
    "scaleDown": {"selectPolicy": "Max", "stabilizationWindowSeconds": 3600,
                  "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}]},
}


def flag_value(args, name):
    """The value of `--name VALUE` or `--name=VALUE` in args."""
    values = [a.split("=", 1)[1] for a in args if a.startswith(name + "=")]
    values += [args[i + 1] for i, a in enumerate(args[:-1]) if a == name]
    assert len(values) == 1, f"{name}: {len(values)} values in {args}"
    return values[0]


def adapter_config(objs):
    """(path, config dict) of the --config file the adapter Deployment reads, followed
    through its volume mount to the ConfigMap in the same rendering."""
    d = find(objs, "Deployment", "pulse-adapter", "pulse")
    pod = d["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    path = flag(c["args"], "--config")
    mounts = [m for m in c.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")]
    assert len(mounts) == 1, f"--config {path} is under no single volume mount"
    key = path[len(mounts[0]["mountPath"].rstrip("/")) + 1:]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mounts[0]["name"]]
    cm = find(objs, "ConfigMap", volume["configMap"]["name"], "pulse")
    assert key in cm["data"], f"ConfigMap {cm['metadata']['name']} has no key {key}"
    return path, yaml.safe_load(cm["data"][key])


def workers_problems(objs):
    """What is wrong with the workers of one rendering: every HPA on a config signal, its
    cadence, the Object metric's signal, object and Deployment, the config's `match`, and
    the Redis exporter the config's source names. [] when all holds."""
    problems = []
    try:
        _, config = adapter_config(objs)
    except AssertionError as e:
        return [f"the adapter's config: {e}"]
    signals = {s["name"]: s for s in config.get("signals", [])}
    attached = {(o["namespace"], o["resource"], o["name"], s["name"]): o.get("match", {})
                for s in signals.values() for o in s.get("objects", [])}
    deployments = {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in all_of(objs, "Deployment")}
    hpas = [h for h in all_of(objs, "HorizontalPodAutoscaler") if h["metadata"]["name"].startswith("workers-")]
    if not hpas:
        problems.append("no HPA workers-<job>")
    jobs, served = set(), set()
    for h in hpas:
        ns, name, spec = h["metadata"]["namespace"], h["metadata"]["name"], h["spec"]
        job = name[len("workers-"):]
        jobs.add(job)
        where = f"HPA {ns}/{name}"
        target = spec["scaleTargetRef"]
        if target != {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}:
            problems.append(f"{where}: scales {target}, not its Deployment {name}")
        d = deployments.get((ns, name))
        if d is None:
            problems.append(f"{where}: no Deployment {ns}/{name}")
        elif "replicas" in d["spec"]:
            problems.append(f"Deployment {ns}/{name} sets replicas: the HPA owns the count")
        if spec.get("minReplicas") != 1 or not spec.get("maxReplicas", 0) > 1:
            problems.append(f"{where}: replicas {spec.get('minReplicas')}..{spec.get('maxReplicas')}, not 1..N")
        behavior = spec.get("behavior", {})
        for way, want in WORKERS_CADENCE.items():
            got = behavior.get(way, {})
            wrong = {k: got.get(k) for k, v in want.items() if got.get(k) != v}
            if wrong:
                problems.append(f"{where}: behavior.{way} {wrong}, the cadence wants {want}")
        window = behavior.get("scaleUp", {}).get("stabilizationWindowSeconds")
        if not (isinstance(window, int) and 0 <= window <= 300):
            problems.append(f"{where}: scaleUp.stabilizationWindowSeconds {window}, not 0..300")
        metrics = spec.get("metrics", [])
        if len(metrics) != 1 or metrics[0].get("type") != "Object":
            problems.append(f"{where}: metrics {metrics}, not one Object metric")
            continue
        obj = metrics[0]["object"]
        described, metric = obj["describedObject"], obj["metric"]["name"]
        if described != target:
            problems.append(f"{where}: the metric describes {described}, not the Deployment it scales")
        if obj["target"].get("type") != "AverageValue" or "averageValue" not in obj["target"]:
            problems.append(f"{where}: target {obj['target']}, not an AverageValue (jobs per worker)")
        if metric not in signals:
            problems.append(f"{where}: metric {metric} is not a signal of the adapter's config")
            continue
        key = (ns, described["kind"].lower() + "s", described["name"], metric)
        served.add(key)
        if key not in attached:
            problems.append(f"{where}: the config does not serve {metric} for deployments {ns}/{described['name']}")
        elif attached[key] != {"job": job}:
            problems.append(f"{where}: the config matches {attached[key]} for it, not {{'job': '{job}'}}")
    for key in attached:
        ns, resource, name, metric = key
        if resource == "deployments" and (ns, name) not in deployments:
            problems.append(f"the config serves {metric} for deployments {ns}/{name}, which does not exist")
        if key not in served:
            problems.append(f"the config serves {metric} for {resource} {ns}/{name}, which no HPA reads")

    # The sources: each a Service of the rendering, in front of the Redis exporter, which
    # lists both keys of every job by name.
    for source in config.get("sources", []):
        m = re.fullmatch(r"http://([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?:(\d+)/metrics", source["url"])
        if not m:
            problems.append(f"source {source['name']}: {source['url']} is not a Service of this rendering")
            continue
        svc_name, ns, port = m.group(1), m.group(2), int(m.group(3))
        svcs = [s for s in all_of(objs, "Service") if s["metadata"]["name"] == svc_name and s["metadata"]["namespace"] == ns]
        ports = [p for s in svcs for p in s["spec"]["ports"] if p["port"] == port]
        if len(ports) != 1:
            problems.append(f"source {source['name']}: no Service {ns}/{svc_name} with port {port}")
            continue
        backends = [d for (dns, _), d in deployments.items() if dns == ns
                    and matches({"matchLabels": svcs[0]["spec"]["selector"]}, d["spec"]["template"]["metadata"]["labels"])]
        exporters = [c for d in backends for c in d["spec"]["template"]["spec"]["containers"]
                     if any(p.get("name") == ports[0]["targetPort"] for p in c.get("ports", []))]
        if len(exporters) != 1:
            problems.append(f"source {source['name']}: {len(exporters)} containers behind {ns}/{svc_name}:{port}")
            continue
        try:
            keys = flag_value(exporters[0]["args"], "--check-single-keys").split(",")
        except AssertionError as e:
            problems.append(f"source {source['name']}: {e}")
            continue
        for job in sorted(jobs):
            for key in (f"queue:{job}", f"failed:{job}"):
                if key not in keys:
                    problems.append(f"source {source['name']}: the exporter does not list {key}")
    return problems


@pytest.mark.parametrize("rendering", WORKERS)
def test_workers_hpas_config_and_exporter_agree(rendered, rendering):
    objs = objects(rendered, rendering)
    assert workers_problems(objs) == []
    hpas = {h["metadata"]["name"] for h in all_of(objs, "HorizontalPodAutoscaler")}
    assert {"workers-emails", "workers-thumbnails"} <= hpas
    version = "autoscaling/v2beta2" if rendering.endswith("legacy-1.19") else "autoscaling/v2"
    assert {h["apiVersion"] for h in all_of(objs, "HorizontalPodAutoscaler")} == {version}
    for name in ("workers-emails", "workers-thumbnails"):
        d = find(objs, "Deployment", name, "shop")
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert labels == {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "worker"}
        assert d["metadata"]["labels"] == labels and d["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}
        for c in d["spec"]["template"]["spec"]["containers"]:
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and "memory" in c["resources"]["limits"], c["name"]
            env = {e["name"]: e["value"] for e in c["env"]}
            job = name[len("workers-"):]
            assert (env["QUEUE"], env["FAILED_QUEUE"]) == (f"queue:{job}", f"failed:{job}")
    exporter = find(objs, "Deployment", "redis-exporter", "shop")["spec"]["template"]["spec"]["containers"][0]
    assert re.fullmatch(r"oliver006/redis_exporter:v\d+\.\d+\.\d+", exporter["image"]), "pin the exporter's tag"
    for probe in ("readinessProbe", "livenessProbe"):
        assert exporter[probe]["httpGet"] == {"path": "/health", "port": "metrics"}


# One breakage each, and what workers_problems must say about it.
WORKERS_BREAKAGES = {
    "hour-long-period": (lambda o: hpa_of(o, "workers-emails")["spec"]["behavior"]["scaleDown"]["policies"][0]
                         .update(periodSeconds=1800), "workers-emails: behavior.scaleDown"),
    "short-window": (lambda o: hpa_of(o, "workers-thumbnails")["spec"]["behavior"]["scaleDown"]
                     .update(stabilizationWindowSeconds=300), "workers-thumbnails: behavior.scaleDown"),
    "fast-up": (lambda o: hpa_of(o, "workers-emails")["spec"]["behavior"]["scaleUp"]["policies"].append(
        {"type": "Percent", "value": 100, "periodSeconds": 60}), "workers-emails: behavior.scaleUp"),
    "metric-typo": (lambda o: hpa_of(o, "workers-emails")["spec"]["metrics"][0]["object"]["metric"]
                    .update(name="pulse_job_waiting"), "pulse_job_waiting is not a signal of the adapter's config"),
    "other-object": (lambda o: hpa_of(o, "workers-thumbnails")["spec"]["metrics"][0]["object"]["describedObject"]
                     .update(name="workers-emails"), "the metric describes"),
    "match-swapped": (lambda o: config_of(o, lambda c: c["signals"][0]["objects"][1].update(match={"job": "emails"})),
                      "workers-thumbnails: the config matches {'job': 'emails'}"),
    "no-deployment": (lambda o: o.remove(find(o, "Deployment", "workers-thumbnails", "shop")),
                      "no Deployment shop/workers-thumbnails"),
    "key-missing": (lambda o: exporter_args_of(o).__setitem__(1, "--check-single-keys=queue:emails,queue:thumbnails,failed:emails"),
                    "the exporter does not list failed:thumbnails"),
    "glob-keys": (lambda o: exporter_args_of(o).__setitem__(1, "--check-keys=queue:*,failed:*"),
                  "--check-single-keys: 0 values"),
    "no-config": (lambda o: find(o, "Deployment", "pulse-adapter", "pulse")["spec"]["template"]["spec"]["containers"][0]
                  .update(args=["adapter"]), "--config missing"),
}


def hpa_of(objs, name):
    return find(objs, "HorizontalPodAutoscaler", name, "shop")


def exporter_args_of(objs):
    args = find(objs, "Deployment", "redis-exporter", "shop")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[1].startswith("--check-single-keys="), args
    return args


def config_of(objs, change):
    d = find(objs, "Deployment", "pulse-adapter", "pulse")
    (volume,) = [v for v in d["spec"]["template"]["spec"]["volumes"] if v["name"] == "workers-config"]
    cm = find(objs, "ConfigMap", volume["configMap"]["name"], "pulse")
    config = yaml.safe_load(cm["data"]["workers.yaml"])
    change(config)
    cm["data"]["workers.yaml"] = yaml.safe_dump(config)


@pytest.mark.parametrize("case", WORKERS_BREAKAGES)
def test_workers_checks_catch_a_broken_copy(rendered, case):
    objs = copy.deepcopy(objects(rendered, "workers"))
    breakage, expect = WORKERS_BREAKAGES[case]
    breakage(objs)
    problems = workers_problems(objs)
    assert any(expect in p for p in problems), problems


def test_workers_adapter_is_the_adapter_with_its_config(rendered):
    adapter, workers, jobs = (objects(rendered, n) for n in ("adapter", "workers", "workers/jobs"))
    plain = find(adapter, "Deployment", "pulse-adapter", "pulse")
    patched = copy.deepcopy(find(workers, "Deployment", "pulse-adapter", "pulse"))
    path, config = adapter_config(workers)
    assert path == "/etc/pulse/workers.yaml"
    pod = patched["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["args"][-2:] == ["--config", path]
    del c["args"][-2:]
    assert c["volumeMounts"].pop() == {"name": "workers-config", "mountPath": "/etc/pulse", "readOnly": True}
    volume = pod["volumes"].pop()
    assert volume["name"] == "workers-config" and volume["configMap"]["name"].startswith("pulse-workers-")
    assert patched == plain                    # nothing else changed
    # workers = the adapter (so patched) + jobs, nothing more
    key = lambda o: (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
    rest = [o for o in workers if key(o) != ("Deployment", "pulse", "pulse-adapter")]
    assert sorted(map(key, rest)) == sorted(map(key, [o for o in adapter if o is not plain] + jobs))
    assert all(o in adapter or o in jobs for o in rest)
    # the config's YAML is the file of the repository
    assert config == yaml.safe_load((KDIR / "workers" / "jobs" / "workers.yaml").read_text())


def test_workers_legacy_is_the_legacy_overlay_with_the_workers(rendered):
    legacy, old, workers = (objects(rendered, n) for n in ("workers/legacy-1.19", "overlays/legacy-1.19", "workers"))
    key = lambda o: (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
    assert sorted(map(key, legacy)) == sorted(map(key, old + objects(rendered, "workers/jobs")))
    for o in legacy:
        k = key(o)
        if k == ("Deployment", "pulse", "pulse-adapter"):
            # the legacy overlay's adapter (the same as ../../adapter's) with the --config patch
            assert o == find(workers, "Deployment", "pulse-adapter", "pulse")
        elif k[0] == "HorizontalPodAutoscaler" and k[2].startswith("workers-"):
            current = find(workers, "HorizontalPodAutoscaler", k[2], k[1])
            assert o["apiVersion"] == "autoscaling/v2beta2" and current["apiVersion"] == "autoscaling/v2"
            assert o["spec"] == current["spec"] and o["metadata"] == current["metadata"]
        elif k in set(map(key, old)):
            assert o == find(old, k[0], k[2], k[1] or None), k
        else:
            assert o == find(workers, k[0], k[2], k[1] or None), k
    # the patch files are copies (kustomize reads no file outside a folder)
    for copy_path, source in ((KDIR / "workers" / "legacy-1.19" / "adapter-config.yaml", KDIR / "workers" / "adapter-config.yaml"),
                              (KDIR / "workers" / "legacy-1.19" / "hpa-v2beta2.yaml", KDIR / "overlays" / "legacy-1.19" / "hpa-v2beta2.yaml")):
        assert copy_path.read_bytes() == source.read_bytes(), f"{copy_path.relative_to(REPO)} differs from {source.relative_to(REPO)}"


def test_workers_compose_with_the_web_deploy_and_the_edge(validator, tmp_path):
    """What the README tells a team with the web deploy: ../../workers in the place of
    ../../adapter. The composition builds (no object twice: the workers bring no
    Namespace shop) and validates."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    rel = lambda name: os.path.relpath(KDIR / name, overlay)
    (overlay / "kustomization.yaml").write_text(
        "bases:\n" + "".join(f"- {rel(n)}\n" for n in ("base", "workers", "ingress")))
    home = tmp_path / "home"
    home.mkdir()
    out = tmp_path / "composed.yaml"
    out.write_text(render(overlay, home))
    code, report = validate(validator, out)
    assert code == 0, [e for e in report["objects"] if e["errors"]]
    objs = [e["object"] for e in report["objects"]]
    assert workers_problems(objs) == []
    find(objs, "HorizontalPodAutoscaler", "web", "shop")
    find(objs, "Deployment", "edge", "ingress")


# ---------------------------------------------------------------------------
# the nginx configs


def test_nginx_configs_are_copies_of_conf_nginx():
    for copy_path, source in ((KDIR / "web" / "nginx.conf", REPO / "conf" / "nginx" / "web.conf"),
                              (KDIR / "ingress" / "nginx.conf", REPO / "conf" / "nginx" / "ingress.conf")):
        assert source.is_file(), f"{source} is missing"
        assert copy_path.read_bytes() == source.read_bytes(), (
            f"{copy_path.relative_to(REPO)} differs from {source.relative_to(REPO)}: "
            f"cp {source.relative_to(REPO)} {copy_path.relative_to(REPO)}")


def conf_values(text):
    return {
        "listen": [int(p) for p in re.findall(r"^\s*listen\s+(\d+)", text, re.M)],
        "pid": re.search(r"^\s*pid\s+(\S+);", text, re.M).group(1),
    }


def test_manifests_agree_with_the_nginx_configs(rendered):
    web_conf = (REPO / "conf" / "nginx" / "web.conf").read_text()
    base = objects(rendered, "base")
    pod = find(base, "Deployment", "web", "shop")["spec"]["template"]["spec"]
    nginx, app = container(pod, "nginx", "main"), container(pod, "app", "main")
    assert sorted(set(conf_values(web_conf)["listen"])) == sorted([port_of(nginx, "http"), port_of(nginx, "pulse-nginx")])
    assert re.search(r"server 127\.0\.0\.1:(\d+);", web_conf).group(1) == str(port_of(app, "app"))
    mounts = {m["mountPath"]: m for m in nginx["volumeMounts"]}
    assert re.search(r"^\s*root (\S+);", web_conf, re.M).group(1) in mounts
    assert conf_values(web_conf)["pid"].startswith("/tmp/") and "/tmp" in mounts
    assert mounts["/etc/nginx/nginx.conf"]["subPath"] == "nginx.conf"

    ingress_conf = (REPO / "conf" / "nginx" / "ingress.conf").read_text()
    objs = objects(rendered, "overlays/production")
    edge = find(objs, "Deployment", "edge", "ingress")["spec"]["template"]["spec"]
    enginx = container(edge, "nginx", "main")
    assert sorted(set(conf_values(ingress_conf)["listen"])) == sorted(p["containerPort"] for p in enginx["ports"])
    emounts = {m["mountPath"] for m in enginx["volumeMounts"]}
    assert re.search(r"ssl_certificate (\S+)/tls\.crt;", ingress_conf).group(1) in emounts
    # The edge proxies to the web Service as the base defines it.
    web_svc = find(objs, "Service", "web", "shop")
    assert f"server web.shop.svc.cluster.local:{web_svc['spec']['ports'][0]['port']};" in ingress_conf


def test_production_overlay_replaces_every_image(rendered):
    images = [c["image"] for o in objects(rendered, "overlays/production") if o["kind"] == "Deployment"
              for c in o["spec"]["template"]["spec"].get("initContainers", []) + o["spec"]["template"]["spec"]["containers"]]
    assert images and all(i.startswith("registry.example.com/") for i in images), images


# ---------------------------------------------------------------------------
# no key material in the repository

PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n[A-Za-z0-9+/=]{16,}")
SKIP_DIRS = {".git", "build", "node_modules", "__pycache__", ".pytest_cache"}


def secrets_in(root):
    """Files under root that hold a Secret with data or a PEM block: [(path, why)]."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for fn in filenames:
            p = Path(dirpath) / fn
            try:
                text = p.read_text()
            except (UnicodeDecodeError, OSError):
                continue
            if PEM_BLOCK.search(text):
                found.append((p, "PEM block"))
            if p.suffix in (".yaml", ".yml"):
                for doc in re.split(r"^---\s*$", text, flags=re.M):
                    if (re.search(r"^kind:\s*[\"']?Secret[\"']?\s*$", doc, re.M)
                            and re.search(r"^(data|stringData):\s*\S", doc + "\n", re.M | re.S)):
                        found.append((p, "Secret with data"))
    return found


def test_no_secret_or_key_material_in_the_repository(rendered, tmp_path):
    # The scan finds what it looks for ...
    (tmp_path / "s.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData:\n  a: b\n")
    (tmp_path / "k.conf").write_text("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n")
    (tmp_path / "fine.yaml").write_text("kind: Secret\n# data comes from kubectl create secret\n")
    assert sorted((p.name, why) for p, why in secrets_in(tmp_path)) == [
        ("k.conf", "PEM block"), ("s.yaml", "Secret with data")]
    # ... and finds nothing in the repository.
    assert secrets_in(REPO) == []
    for name in KUSTOMIZATIONS:
        assert not [o for o in objects(rendered, name) if o["kind"] == "Secret"], name


# ---------------------------------------------------------------------------
# Kubernetes 1.22's API for the legacy overlay (Debian's python3-kubernetes)


def python_models():
    """{class name: (json field -> type string, required json fields)} from the models of
    Debian's python3-kubernetes (Kubernetes 1.22's API), read with ast, not imported."""
    root = ph.ensure_debian_tool("python3-kubernetes")
    models = root / "usr/lib/python3/dist-packages/kubernetes/client/models"
    out = {}
    for f in models.glob("*.py"):
        text = f.read_text()
        tree = ast.parse(text)
        for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
            attrs = {}
            for stmt in cls.body:
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                        isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id in ("openapi_types", "attribute_map"):
                    attrs[stmt.targets[0].id] = ast.literal_eval(stmt.value)
            if len(attrs) != 2:
                continue
            source = ast.get_source_segment(text, cls) or ""
            required = set(re.findall(r"Invalid value for `(\w+)`, must not be `None`", source))
            fields = {attrs["attribute_map"][k]: t for k, t in attrs["openapi_types"].items()}
            out[cls.name] = (fields, {attrs["attribute_map"][k] for k in required})
    assert "V1Deployment" in out and "V2beta2HorizontalPodAutoscaler" in out, "python3-kubernetes models not found"
    return out


def model_errors(models, value, typ, path):
    if typ == "object":
        return []
    if typ in ("str", "datetime", "date"):
        return [] if isinstance(value, str) else [f"{path}: expected a string"]
    if typ == "int":
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{path}: expected an integer"]
    if typ == "float":
        return [] if isinstance(value, (int, float)) and not isinstance(value, bool) else [f"{path}: expected a number"]
    if typ == "bool":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean"]
    m = re.fullmatch(r"list\[(.+)\]", typ)
    if m:
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [e for i, v in enumerate(value) for e in model_errors(models, v, m.group(1), f"{path}[{i}]")]
    m = re.fullmatch(r"dict\(str, (.+)\)", typ)
    if m:
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        return [e for k, v in value.items() for e in model_errors(models, v, m.group(1), f"{path}.{k}")]
    if typ not in models:
        return [f"{path}: unknown model type {typ}"]
    if not isinstance(value, dict):
        return [f"{path}: expected an object of {typ}"]
    fields, required = models[typ]
    errors = [f"{path}.{k}: not a field of {typ} in Kubernetes 1.22" for k in value if k not in fields]
    errors += [f"{path}.{k}: required by {typ}" for k in required if k not in value]
    for k, v in value.items():
        if k in fields:
            errors += model_errors(models, v, fields[k], f"{path}.{k}")
    return errors


def model_of(obj):
    version = obj["apiVersion"].rsplit("/", 1)[-1]
    return version[0].upper() + version[1:] + obj["kind"]


# Fields Kubernetes 1.20 to 1.22 added: present in 1.22's models, absent from 1.19's.
NEWER_THAN_1_19 = (
    ("Service", ("spec", "ipFamilyPolicy")), ("Service", ("spec", "ipFamilies")),
    ("Service", ("spec", "clusterIPs")), ("Service", ("spec", "allocateLoadBalancerNodePorts")),
    ("Service", ("spec", "loadBalancerClass")), ("Service", ("spec", "internalTrafficPolicy")),
)
NEWER_POD_FIELDS = ("setHostnameAsFQDN",)
NEWER_PROBE_FIELDS = ("terminationGracePeriodSeconds",)


@pytest.mark.parametrize("rendering", ("overlays/legacy-1.19", "workers/legacy-1.19"))
def test_legacy_overlay_fits_kubernetes_1_22(rendered, rendering):
    models = python_models()
    legacy = objects(rendered, rendering)
    errors = [e for o in legacy for e in model_errors(models, o, model_of(o), f"{o['kind']}/{o['metadata']['name']}")]
    assert not errors, "\n".join(errors)
    for kind, path in NEWER_THAN_1_19:
        for o in all_of(legacy, kind):
            assert path[-1] not in o[path[0]], (kind, path)
    for d in all_of(legacy, "Deployment"):
        pod = d["spec"]["template"]["spec"]
        assert not set(NEWER_POD_FIELDS) & set(pod)
        assert not any("ephemeral" in v for v in pod.get("volumes", []))
        for c in pod.get("initContainers", []) + pod["containers"]:
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                assert not set(NEWER_PROBE_FIELDS) & set(c.get(probe, {}))
    # The check can fail: the native sidecar (1.29) does not fit 1.22.
    base_web = find(objects(rendered, "base"), "Deployment", "web")
    assert any("restartPolicy: not a field of V1Container" in e
               for e in model_errors(models, base_web, "V1Deployment", "Deployment/web"))


# ---------------------------------------------------------------------------
# the docs' commands

BLOCK = re.compile(r"(?:<!-- test: (?P<kind>run|cluster) -->[ \t]*\n(?:[ \t]*\n)*)?"
                   r"^(?P<indent>[ \t]*)```(?P<lang>[a-z]*)\n(?P<body>.*?)\n[ \t]*```[ \t]*$", re.S | re.M)


def doc_blocks(path):
    """[(kind or None, lang, body)] of the fenced blocks in a markdown file."""
    blocks = []
    for m in BLOCK.finditer(path.read_text()):
        body = "\n".join(line[len(m.group("indent")):] if line.startswith(m.group("indent")) else line
                         for line in m.group("body").split("\n"))
        blocks.append((m.group("kind"), m.group("lang"), body))
    return blocks


@pytest.fixture(scope="module")
def doc_env(tmp_path_factory):
    """Environment for running the docs' commands: Debian's kubectl 1.20 first on the PATH
    (never a kubectl of the machine's), an empty kubeconfig, a private HOME."""
    shims = tmp_path_factory.mktemp("shims")
    (shims / "kubectl").symlink_to(ph.kubectl())
    home = tmp_path_factory.mktemp("home")
    node = node_binary()
    env = kubectl_env(home)
    env["PATH"] = f"{shims}:{node.parent}:/usr/bin:/bin"
    return env


def run_doc_blocks(path, env, workdir):
    """Run a doc's `test: run` blocks in order, in workdir (which sees the repository's
    conf/ and tests/); returns how many ran."""
    for name in ("conf", "tests"):
        link = workdir / name
        if not link.exists():
            link.symlink_to(REPO / name)
    ran = 0
    for kind, lang, body in doc_blocks(path):
        if kind != "run":
            continue
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=workdir, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        assert r.returncode == 0, f"{path.relative_to(REPO)}: block failed (exit {r.returncode}):\n{body}\n---\n{r.stdout}"
        ran += 1
    return ran


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_doc_commands_are_marked_and_run(doc, validator, doc_env, tmp_path):
    blocks = doc_blocks(doc)
    shell = [(kind, body) for kind, lang, body in blocks if lang in ("sh", "bash", "shell", "console")]
    unmarked = [body for kind, body in shell if kind is None]
    assert not unmarked, f"{doc.relative_to(REPO)}: shell blocks without <!-- test: run|cluster -->:\n" + "\n\n".join(unmarked)
    assert all(lang in ("sh", "bash", "shell", "console") for kind, lang, body in blocks if kind), \
        "a test mark on a block that is not a shell block"
    # Paths of this repository that the commands name exist.
    for kind, body in shell:
        for p in re.findall(r"\b((?:conf|docs|tests)/[A-Za-z0-9_./-]+)", body):
            assert (REPO / p.rstrip(".")).exists(), f"{doc.relative_to(REPO)} names {p}, which does not exist"
        for d in re.findall(r"kubectl (?:apply|delete) -k (\S+)", body):
            assert d.removeprefix("conf/kubernetes/") in KUSTOMIZATIONS, d
    ran = run_doc_blocks(doc, doc_env, tmp_path)
    assert ran == sum(1 for kind, _ in shell if kind == "run")


def test_docs_map_links_every_page():
    readme = (REPO / "docs" / "README.md").read_text()
    links = set(re.findall(r"\]\(([^)#]+\.md)\)", readme))
    pages = {p.name for p in (REPO / "docs").glob("*.md")} - {"README.md"}
    assert pages <= links, f"docs/README.md does not link {sorted(pages - links)}"
    assert {f"{n}.md" for n in DOC_PAGES} <= links
    missing = sorted(l for l in links if not (REPO / "docs" / l).is_file())
    assert not missing, f"docs/README.md links pages that do not exist: {missing}"


def test_doc_links_resolve():
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text()):
            assert (doc.parent / target).exists(), f"{doc.relative_to(REPO)} links {target}"


def test_doc_certificate_is_accepted_as_the_aggregator_checks_it(doc_env, tmp_path):
    """docs/autoscaling.md's openssl commands, run as written, make a serving certificate
    that the real adapter loads and that verifies for pulse-adapter.pulse.svc against
    ca.crt (what the APIService's caBundle will hold), with Debian's kubectl as the client
    and a stand-in front-proxy CA."""
    work = tmp_path / "certs"
    work.mkdir()
    (block,) = [body for kind, lang, body in doc_blocks(REPO / "docs" / "autoscaling.md")
                if kind == "run" and "openssl req -x509" in body]
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=work, env=doc_env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert r.returncode == 0, r.stdout
    san = subprocess.run(["openssl", "x509", "-in", "tls.crt", "-noout", "-ext", "subjectAltName"],
                         cwd=work, stdout=subprocess.PIPE, text=True).stdout
    assert "DNS:pulse-adapter.pulse.svc" in san

    # A stand-in for the cluster's front-proxy CA and the aggregator's client certificate.
    fp = """
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=front-proxy-ca -keyout fp-ca.key -out fp-ca.crt
    openssl req -new -newkey rsa:2048 -nodes -subj /CN=front-proxy-client -keyout client.key -out client.csr
    openssl x509 -req -in client.csr -CA fp-ca.crt -CAkey fp-ca.key -CAcreateserial -days 1 -out client.crt
    """
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", fp], cwd=work, env=doc_env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert r.returncode == 0, r.stdout
    (work / "token").write_text("unused\n")

    sidecar = ph.sidecar_path()
    if not sidecar.is_file():
        pytest.fail(f"sidecar not built: run make (no {sidecar})", pytrace=False)
    port = ph.free_port()
    log = open(work / "adapter.log", "wb")
    proc = subprocess.Popen([str(sidecar), "adapter", "--listen", f"{ph.LOOPBACK}:{port}",
                             "--tls-cert", "tls.crt", "--tls-key", "tls.key", "--client-ca", "fp-ca.crt",
                             "--kube-api", f"https://{ph.LOOPBACK}:{ph.free_port()}",
                             "--kube-token-file", "token", "--kube-ca", "ca.crt"],
                            cwd=work, stdout=log, stderr=subprocess.STDOUT)
    try:
        ph.wait_for(lambda: proc.poll() is not None or ph.port_open(port), message="adapter port")
        assert proc.poll() is None, ph.tail(work / "adapter.log")

        def get_raw(*extra):
            cmd = [str(ph.kubectl()), "--server", f"https://{ph.LOOPBACK}:{port}", "--certificate-authority", "ca.crt",
                   "--client-certificate", "client.crt", "--client-key", "client.key",
                   "--request-timeout", "20s", *extra, "get", "--raw", "/apis/custom.metrics.k8s.io/v1beta2"]
            return subprocess.run(cmd, cwd=work, env=doc_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, timeout=60, stdin=subprocess.DEVNULL)

        ok = get_raw("--tls-server-name", "pulse-adapter.pulse.svc")
        assert ok.returncode == 0, ok.stderr
        doc = json.loads(ok.stdout)
        assert doc["kind"] == "APIResourceList"
        assert "pods/pulse_requests_per_second" in {r["name"] for r in doc["resources"]}
        # The name check is real: 127.0.0.1 is not a name of the certificate.
        bad = get_raw()
        assert bad.returncode != 0 and "x509" in bad.stderr, bad.stderr
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
