"""A real Kubernetes 1.20 control plane for the end-to-end tests, and the kubelet they play.

Real: etcd (Debian's etcd-server), kube-apiserver and kube-controller-manager 1.20.2 built
from Debian's `kubernetes` source package (scripts/build-kube.sh), Debian's kubectl 1.20,
nginx with the module, `pulse-sidecar run` for every pod, `pulse-sidecar adapter`, the
project's manifests (conf/kubernetes/overlays/legacy-1.19 rendered by kubectl kustomize).
Simulated: the kubelet only (FakeKubelet): for every pod the ReplicaSet controller creates,
it starts that pod's nginx and sidecar on the pod's own address and writes the pod's status
(Running, podIP, Ready from the sidecar's /readyz, as the manifest's readinessProbe says).

Everything runs inside a private network namespace that scripts/run-e2e.sh creates
(`unshare --net`): the API server's, the adapter's and every pod's address is on that
namespace's `lo`. All state is under BUILD/e2e.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

import pulse_harness as ph  # noqa: E402

API_IP = "10.200.0.1"
ADAPTER_IP = "10.200.0.2"
POD_NET = "10.244.0."
SERVICE_RANGE = "10.96.0.0/16"
NGINX_PORT, EXPORTER_PORT, SIDECAR_PORT, ADAPTER_PORT = 8080, 9113, 9145, 6443


class E2EError(RuntimeError):
    pass


def kube_bin(name):
    path = ph.build_dir() / "kube" / "bin" / name
    if not path.is_file():
        raise E2EError(f"{path} is missing: scripts/build-kube.sh builds it (make test-e2e does)")
    return path


def require_private_netns():
    """The tests add addresses and listen on them: only in the namespace run-e2e.sh made."""
    if os.environ.get("PULSE_E2E_NETNS") != "1":
        raise E2EError("run the end-to-end tests through scripts/run-e2e.sh (make test-e2e): "
                       "they need the private network namespace it creates")
    out = subprocess.run(["ip", "-o", "addr", "show", "dev", "lo"], stdout=subprocess.PIPE,
                         text=True, check=True).stdout
    if API_IP not in out:
        raise E2EError(f"{API_IP} is not on lo: not in run-e2e.sh's network namespace")


def add_address(ip):
    subprocess.run(["ip", "addr", "add", f"{ip}/32", "dev", "lo"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def del_address(ip):
    subprocess.run(["ip", "addr", "del", f"{ip}/32", "dev", "lo"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ---------------------------------------------------------------------------------------
# certificates


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise E2EError(f"openssl {' '.join(args)}:\n{r.stdout}")


class Pki:
    """Every certificate of the cluster, made with openssl (P-256; RSA for the service
    account tokens)."""

    def __init__(self, dir):
        self.dir = Path(dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        for ca, cn in (("ca", "pulse-e2e-ca"), ("front-proxy-ca", "pulse-e2e-front-proxy-ca"),
                       ("adapter-ca", "pulse-e2e-adapter-ca")):
            self._key(ca)
            _openssl("req", "-x509", "-new", "-key", f"{ca}.key", "-out", f"{ca}.crt", "-days", "3",
                     "-subj", f"/CN={cn}", "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=self.dir)
        self.leaf("apiserver", "/CN=kube-apiserver", "ca", server=[
            f"IP:{API_IP}", "IP:10.96.0.1", "DNS:kubernetes", "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"])
        self.leaf("admin", "/O=system:masters/CN=pulse-e2e-admin", "ca")
        self.leaf("controller-manager", "/CN=system:kube-controller-manager", "ca")
        self.leaf("alice", "/CN=alice", "ca")  # a user without any role
        self.leaf("front-proxy-client", "/CN=front-proxy-client", "front-proxy-ca")
        self.leaf("adapter", "/CN=pulse-adapter.pulse.svc", "adapter-ca", server=[
            "DNS:pulse-adapter.pulse.svc", "DNS:pulse-adapter.pulse.svc.cluster.local",
            f"IP:{ADAPTER_IP}"])
        _openssl("genrsa", "-out", "sa.key", "2048", cwd=self.dir)
        _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=self.dir)
        for f in self.dir.iterdir():
            os.chmod(f, 0o644)

    def _key(self, name):
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", f"{name}.key", cwd=self.dir)

    def leaf(self, name, subject, ca, server=None):
        self._key(name)
        _openssl("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
                 cwd=self.dir)
        ext = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"]
        ext.append("extendedKeyUsage=serverAuth" if server else "extendedKeyUsage=clientAuth")
        if server:
            ext.append("subjectAltName=" + ",".join(server))
        (self.dir / f"{name}.ext").write_text("\n".join(ext) + "\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "3", "-extfile", f"{name}.ext",
                 cwd=self.dir)

    def path(self, name):
        return self.dir / name


# ---------------------------------------------------------------------------------------
# processes


class Process:
    """A long-running process with its output in a log file; stopped by its pid."""

    def __init__(self, name, cmd, log_dir, env=None):
        self.name = name
        self.cmd = [str(c) for c in cmd]
        self.log_path = Path(log_dir) / f"{name}.log"
        self.env = env
        self.proc = None

    def start(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env, start_new_session=True)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return
        ph.stop_process(self.proc, sig, timeout)
        self._log.close()
        self.proc = None

    def tail(self, n=30):
        return ph.tail(self.log_path, n)


def wait_port(ip, port, proc=None, timeout=90, what=None):
    def up():
        if proc is not None and not proc.alive():
            raise E2EError(f"{proc.name} exited:\n{proc.tail()}")
        try:
            socket.create_connection((ip, port), timeout=1).close()
            return True
        except OSError:
            return False
    ph.wait_for(up, timeout=timeout, interval=0.2, message=what or f"{ip}:{port}")


# ---------------------------------------------------------------------------------------
# the API, as the tests' own client


class Api:
    """JSON requests to kube-apiserver with a client certificate."""

    def __init__(self, port, pki, cert="admin"):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=str(pki.path("ca.crt")))
        self.ctx.load_cert_chain(str(pki.path(f"{cert}.crt")), str(pki.path(f"{cert}.key")))

    def request(self, method, path, body=None, content_type="application/json", timeout=30):
        conn = http.client.HTTPSConnection(API_IP, self.port, context=self.ctx, timeout=timeout)
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {"Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = content_type
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            try:
                doc = json.loads(raw) if raw else None
            except ValueError:
                doc = raw.decode(errors="replace")
            return resp.status, doc
        finally:
            conn.close()

    def get(self, path):
        status, doc = self.request("GET", path)
        if status != 200:
            raise E2EError(f"GET {path}: {status} {doc}")
        return doc

    def merge_patch(self, path, patch):
        status, doc = self.request("PATCH", path, patch, "application/merge-patch+json")
        if status != 200:
            raise E2EError(f"PATCH {path}: {status} {doc}")
        return doc


def kubeconfig(path, port, pki, user):
    Path(path).write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": {
            "server": f"https://{API_IP}:{port}", "certificate-authority": str(pki.path("ca.crt"))}}],
        "users": [{"name": user, "user": {
            "client-certificate": str(pki.path(f"{user}.crt")),
            "client-key": str(pki.path(f"{user}.key"))}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": user}}],
        "current-context": "e2e"}, indent=1))
    return path


class ControlPlane:
    """etcd, kube-apiserver (with the aggregation layer) and kube-controller-manager (the
    deployment, replicaset, HPA, disruption and service-account controllers)."""

    def __init__(self, dir, hpa_sync="2s"):
        self.dir = Path(dir)
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        os.chmod(self.dir, 0o755)
        self.hpa_sync = hpa_sync
        self.pki = Pki(self.dir / "pki")
        self.procs = []
        self.etcd_port, self.etcd_peer = ph.free_port(), ph.free_port()
        self.port = ph.free_port()
        self.kubeconfigs = {u: kubeconfig(self.dir / f"{u}.kubeconfig", self.port, self.pki, u)
                            for u in ("admin", "controller-manager", "alice")}
        self.api = Api(self.port, self.pki)

    def start(self):
        logs = self.dir / "logs"
        etcd = Process("etcd", [
            "/usr/bin/etcd", "--name", "e2e", "--data-dir", self.dir / "etcd",
            "--listen-client-urls", f"http://127.0.0.1:{self.etcd_port}",
            "--advertise-client-urls", f"http://127.0.0.1:{self.etcd_port}",
            "--listen-peer-urls", f"http://127.0.0.1:{self.etcd_peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.etcd_peer}",
            "--initial-cluster", f"e2e=http://127.0.0.1:{self.etcd_peer}",
            "--log-level", "warn"], logs)
        self.procs.append(etcd.start())
        wait_port("127.0.0.1", self.etcd_port, etcd, what="etcd")

        p = self.pki.path
        apiserver = Process("kube-apiserver", [
            kube_bin("kube-apiserver"),
            "--etcd-servers", f"http://127.0.0.1:{self.etcd_port}",
            "--bind-address", API_IP, "--advertise-address", API_IP,
            "--secure-port", self.port, "--insecure-port", "0",
            "--cert-dir", self.dir / "apiserver-certs",
            "--tls-cert-file", p("apiserver.crt"), "--tls-private-key-file", p("apiserver.key"),
            "--client-ca-file", p("ca.crt"),
            "--service-account-key-file", p("sa.pub"),
            "--service-account-signing-key-file", p("sa.key"),
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range", SERVICE_RANGE,
            "--authorization-mode", "RBAC",
            "--requestheader-client-ca-file", p("front-proxy-ca.crt"),
            "--requestheader-allowed-names", "front-proxy-client",
            "--requestheader-username-headers", "X-Remote-User",
            "--requestheader-group-headers", "X-Remote-Group",
            "--requestheader-extra-headers-prefix", "X-Remote-Extra-",
            "--proxy-client-cert-file", p("front-proxy-client.crt"),
            "--proxy-client-key-file", p("front-proxy-client.key"),
            "--enable-aggregator-routing=true",
            "--profiling=false", "--v=1"], logs)
        self.procs.append(apiserver.start())
        self.apiserver = apiserver
        wait_port(API_IP, self.port, apiserver, what="kube-apiserver")

        def healthy():
            if not apiserver.alive():
                raise E2EError(f"kube-apiserver exited:\n{apiserver.tail()}")
            try:
                return self.api.request("GET", "/readyz")[0] == 200
            except OSError:
                return False
        ph.wait_for(healthy, timeout=120, interval=0.5, message="kube-apiserver ready")

        cm = Process("kube-controller-manager", [
            kube_bin("kube-controller-manager"),
            "--kubeconfig", self.kubeconfigs["controller-manager"],
            "--controllers", "deployment,replicaset,horizontalpodautoscaling,disruption,"
                             "serviceaccount,serviceaccount-token",
            "--use-service-account-credentials=true",
            "--service-account-private-key-file", p("sa.key"),
            "--root-ca-file", p("ca.crt"),
            "--horizontal-pod-autoscaler-sync-period", self.hpa_sync,
            "--leader-elect=false", "--port", "0", "--secure-port", "0",
            "--flex-volume-plugin-dir", self.dir / "flexvolume",
            "--profiling=false", "--v=2"], logs)
        self.procs.append(cm.start())
        self.controller_manager = cm
        # The service account controller has made the default accounts: pods can be created.
        ph.wait_for(lambda: self.api.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0]
                    == 200, timeout=60, interval=0.5, message="the default service account")
        return self

    def stop(self):
        for proc in reversed(self.procs):
            proc.stop()
        self.procs = []

    def kubectl(self, *args, user="admin", input=None, check=True):
        cmd = [str(ph.kubectl()), "--kubeconfig", str(self.kubeconfigs[user]), *map(str, args)]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.dir), "KUBECONFIG": "/dev/null"}
        r = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=env, timeout=120)
        if check and r.returncode != 0:
            raise E2EError(f"kubectl {' '.join(map(str, args))}: rc {r.returncode}\n{r.stderr}")
        return r

    def apply(self, objects):
        text = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
        return self.kubectl("apply", "-f", "-", input=text).stdout


# ---------------------------------------------------------------------------------------
# the pods: the kubelet is the one thing the tests play


POD_NGINX = """
    pulse_zone pulse 2m;
    pulse_buckets 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1;
    server {{
        listen {ip}:{http};
        server_name web;
        location / {{ return 200 "web\\n"; }}
    }}
    server {{
        listen {ip}:{exporter};
        server_name pulse-exporter;
        location = /metrics {{ pulse_exporter; }}
        location = /healthz {{ pulse_metrics off; return 200 "ok\\n"; }}
    }}
"""


class PodProcesses:
    """One pod's containers: nginx with the module and `pulse-sidecar run`, on the pod's IP."""

    def __init__(self, name, ip, dir, sidecar_flags):
        self.name, self.ip = name, ip
        self.dir = Path(dir)
        add_address(ip)
        self.nginx = ph.Nginx(self.dir, POD_NGINX.format(ip=ip, http=NGINX_PORT, exporter=EXPORTER_PORT))
        self.nginx.check_host = ip
        self.nginx.start()
        self.sidecar = Process(f"sidecar-{name}", [
            ph.sidecar_path(), "run", "--scrape", f"http://{ip}:{EXPORTER_PORT}/metrics",
            "--listen", f"{ip}:{SIDECAR_PORT}", *sidecar_flags], self.dir).start()
        wait_port(ip, SIDECAR_PORT, self.sidecar, timeout=30, what=f"{name}'s sidecar")

    def ready(self):
        """The manifest's readinessProbe: GET :9145/readyz."""
        try:
            return ph.http_get(f"http://{self.ip}:{SIDECAR_PORT}/readyz", timeout=1)[0] == 200
        except OSError:
            return False

    def stop_nginx(self):
        self.nginx.stop()

    def stop(self):
        self.sidecar.stop()
        self.nginx.stop()
        del_address(self.ip)


class PlainPod:
    """A pod with an address and a status but no processes (the edge's, for the eviction
    test): ready unless the kubelet was told to hold new pods unready."""

    def __init__(self, name, ip, ready):
        self.name, self.ip, self.is_ready = name, ip, ready

    def ready(self):
        return self.is_ready

    def stop(self):
        pass


class FakeKubelet:
    """Plays the kubelet for the pods of one namespace: starts each new pod's processes,
    writes its status, keeps its Ready condition equal to its readiness probe, and stops
    the processes of pods that are gone. With processes=False pods get a status and an
    address only (PlainPod)."""

    def __init__(self, cp, namespace, dir, sidecar_flags=(), interval=0.3, processes=True,
                 net=POD_NET, selector=None):
        self.cp, self.ns, self.net = cp, namespace, net
        self.selector = selector  # a label selector: only these pods are this kubelet's
        self.dir = Path(dir)
        self.processes = processes
        self.hold_new_unready = False
        self.sidecar_flags = list(sidecar_flags)
        self.interval = interval
        self.pods = {}          # name -> PodProcesses
        self.ready = {}         # name -> last written Ready
        self.next_ip = 10
        self.stop_event = threading.Event()
        self.errors = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        while not self.stop_event.is_set():
            try:
                self.sync()
            except Exception as e:  # noqa: BLE001 - reported by check()
                self.errors.append(repr(e))
            self.stop_event.wait(self.interval)

    def check(self):
        if self.errors:
            raise E2EError("the fake kubelet failed: " + "; ".join(self.errors[-3:]))

    def sync(self):
        with self.lock:
            query = f"?labelSelector={urllib.parse.quote(self.selector)}" if self.selector else ""
            items = self.cp.api.get(f"/api/v1/namespaces/{self.ns}/pods{query}")["items"]
            live = {}
            for pod in items:
                name = pod["metadata"]["name"]
                if pod["metadata"].get("deletionTimestamp"):
                    continue
                live[name] = pod
                if name not in self.pods:
                    self._start_pod(pod)
                self._write_ready(pod)
            for name in list(self.pods):
                if name not in live:
                    self.pods.pop(name).stop()
                    self.ready.pop(name, None)

    def _start_pod(self, pod):
        name = pod["metadata"]["name"]
        ip = f"{self.net}{self.next_ip}"
        self.next_ip += 1
        if self.processes:
            self.pods[name] = PodProcesses(name, ip, self.dir / name, self.sidecar_flags)
        else:
            self.pods[name] = PlainPod(name, ip, not self.hold_new_unready)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        containers = [c["name"] for c in pod["spec"]["containers"]]
        self.cp.api.merge_patch(f"/api/v1/namespaces/{self.ns}/pods/{name}/status", {"status": {
            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": API_IP,
            "startTime": now,
            "conditions": [{"type": t, "status": "False", "lastTransitionTime": now}
                           for t in ("Ready", "ContainersReady")] +
                          [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                           {"type": "Initialized", "status": "True", "lastTransitionTime": now}],
            "containerStatuses": [{"name": c, "ready": False, "restartCount": 0, "image": "pulse",
                                   "imageID": "", "started": True,
                                   "state": {"running": {"startedAt": now}}} for c in containers]}})
        self.ready[name] = False

    def _write_ready(self, pod):
        name = pod["metadata"]["name"]
        ready = self.pods[name].ready()
        if self.ready.get(name) == ready:
            return
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        status = "True" if ready else "False"
        containers = [c["name"] for c in pod["spec"]["containers"]]
        self.cp.api.merge_patch(f"/api/v1/namespaces/{self.ns}/pods/{name}/status", {"status": {
            "conditions": [{"type": t, "status": status, "lastTransitionTime": now}
                           for t in ("Ready", "ContainersReady")] +
                          [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                           {"type": "Initialized", "status": "True", "lastTransitionTime": now}],
            "containerStatuses": [{"name": c, "ready": ready, "restartCount": 0, "image": "pulse",
                                   "imageID": "", "started": True,
                                   "state": {"running": {"startedAt": now}}} for c in containers]}})
        self.ready[name] = ready

    def pod(self, name):
        with self.lock:
            return self.pods[name]

    def set_ready(self, name, ready):
        with self.lock:
            self.pods[name].is_ready = ready

    def names(self):
        with self.lock:
            return sorted(self.pods)

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=30)
        for p in list(self.pods.values()):
            p.stop()
        self.pods = {}
