"""A small fake Kubernetes API over HTTPS for the adapter's tests, and a launcher for the
adapter itself (`pulse-sidecar adapter`).

FakeKubeApi serves, for pods the test defines, what the adapter asks a real API server:

  GET /api/v1/namespaces/{ns}/pods[?labelSelector=...]   a v1 PodList
  GET /api/v1/namespaces/{ns}/pods/{name}                a v1 Pod, or a 404 Status
  GET /api/v1/namespaces/{ns}                            a v1 Namespace, or a 404 Status

Every request must carry `Authorization: Bearer <token>`; anything else is a 401 Status.
Label selectors: equality (k=v, k==v, k!=v), existence (k, !k) and sets (k in (a,b),
k notin (a,b)), comma-separated; a malformed one is a 400 Status, as the real API does.
Requests seen are in .requests as (path, query dict, Authorization header).

Faults, for the tests of a sick API (test_reliability_peers.py): .fault(mode) makes every
request after it answer as `mode` says, until .fault(None):

  "slow"       waits `delay` seconds (longer than the adapter's API timeout), then answers
               as usual: a client that waited would get good values, too late
  "slow_body"  a 200 whose body comes one byte every 0.2 s
  "500"        a 500 Status
  "garbage"    a 200 whose body is not JSON
  "not_http"   bytes that are not HTTP, then the connection closes
  "nested"     a 200 whose body is JSON arrays nested `depth` deep

.stop() then .start() again is an API that is down (nothing listens: connections are
refused) and comes back on the same port. add_pods() adds many pods at once.

Standard library only (http.server + ssl); listens on 127.0.0.1 on a free port.
"""

import http.client
import http.server
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import urllib.parse
import uuid
from pathlib import Path

import pulse_harness as ph

# ---------------------------------------------------------------------------
# label selectors


class SelectorError(ValueError):
    pass


_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"


def _split_terms(text):
    terms, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    terms.append(cur)
    return [t.strip() for t in terms]


def parse_selector(text):
    """A list of predicates over a labels dict; raises SelectorError when malformed."""
    preds = []
    if not text.strip():
        return preds
    for term in _split_terms(text):
        m = re.fullmatch(rf"({_KEY})\s*(==|=|!=)\s*({_VALUE})", term)
        if m:
            key, op, value = m.group(1), m.group(3), m.group(4)
            if op == "!=":
                preds.append(lambda l, k=key, v=value: l.get(k) != v)
            else:
                preds.append(lambda l, k=key, v=value: l.get(k) == v)
            continue
        m = re.fullmatch(rf"({_KEY})\s+(in|notin)\s*\(([^()]*)\)", term)
        if m:
            key, op = m.group(1), m.group(3)
            values = {v.strip() for v in m.group(4).split(",")}
            if op == "in":
                preds.append(lambda l, k=key, vs=values: l.get(k) in vs)
            else:
                preds.append(lambda l, k=key, vs=values: l.get(k) not in vs)
            continue
        m = re.fullmatch(rf"(!?)\s*({_KEY})", term)
        if m:
            neg, key = m.group(1), m.group(2)
            preds.append(lambda l, k=key, n=bool(neg): (k in l) != n)
            continue
        raise SelectorError(f"unable to parse requirement: {term!r}")
    return preds


def selector_matches(preds, labels):
    return all(p(labels) for p in preds)


# ---------------------------------------------------------------------------
# the API server


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"

    def log_message(self, fmt, *args):
        pass

    def _send(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        api = self.server.api
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        auth = self.headers.get("Authorization")
        api._record(parts.path, query, auth)
        if api._fault is not None and self._sick(api, *api._fault):
            return
        if auth != f"Bearer {api.token}":
            return self._send(401, status(401, "Unauthorized", "Unauthorized"))
        seg = [urllib.parse.unquote(s) for s in parts.path.strip("/").split("/")]
        if seg[:3] != ["api", "v1", "namespaces"] or len(seg) < 4:
            return self._send(404, status(404, "NotFound", "the server could not find the requested resource"))
        ns = seg[3]
        with api.lock:
            namespaces = set(api.namespaces)
            pods = [dict(p) for p in api.pods.values() if p["metadata"]["namespace"] == ns]
        if len(seg) == 4:
            if ns not in namespaces:
                return self._send(404, status(404, "NotFound", f'namespaces "{ns}" not found'))
            return self._send(200, {"kind": "Namespace", "apiVersion": "v1",
                                    "metadata": {"name": ns}, "status": {"phase": "Active"}})
        if seg[4] != "pods" or len(seg) > 6:
            return self._send(404, status(404, "NotFound", "the server could not find the requested resource"))
        if len(seg) == 6:
            for p in pods:
                if p["metadata"]["name"] == seg[5]:
                    return self._send(200, p)
            return self._send(404, status(404, "NotFound", f'pods "{seg[5]}" not found'))
        try:
            preds = parse_selector(query.get("labelSelector", ""))
        except SelectorError as e:
            return self._send(400, status(400, "BadRequest", str(e)))
        items = [p for p in pods if selector_matches(preds, p["metadata"].get("labels", {}))]
        items.sort(key=lambda p: p["metadata"]["name"])
        return self._send(200, {"kind": "PodList", "apiVersion": "v1",
                                "metadata": {"resourceVersion": str(api.version)}, "items": items})

    do_HEAD = do_GET

    def _sick(self, api, mode, options):
        """Answers as the fault says; False when the request is then answered as usual."""
        self.close_connection = True
        if mode == "slow":
            # Interrupted by .fault(None) or .stop(), so that a test never waits it out.
            api._healed.wait(options.get("delay", 30))
            return False
        if mode == "500":
            self._send(500, status(500, "InternalError", "etcdserver: request timed out"))
        elif mode == "garbage":
            body = b"\x00\xff<html>502 Bad Gateway</html>{\"kind\": \"PodLi"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif mode == "nested":
            depth = options.get("depth", 1 << 20)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(2 * depth))
            self.end_headers()
            for part in (b"[", b"]"):
                left = depth
                while left:
                    n = min(left, 1 << 16)
                    self.wfile.write(part * n)
                    left -= n
        elif mode == "not_http":
            self.wfile.write(b"\x16\x03\x01 this is not HTTP \xff\xfe\r\n\r\n")
        elif mode == "slow_body":
            body = json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {},
                               "items": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for i in range(len(body)):
                if api._healed.wait(0.2):
                    break
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
        else:
            raise AssertionError(f"unknown fault {mode!r}")
        return True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, addr, handler, context):
        self.context = context
        self.open_sockets = set()  # closed by stop(): a down API answers on none
        self.sockets_lock = threading.Lock()
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # Small TLS records (session tickets, headers, body) must not wait for delayed ACKs.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The handshake runs in the request's thread, so one slow client stalls nobody.
        tls = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self.sockets_lock:
            self.open_sockets.add(tls)
        return tls, addr

    def handle_error(self, request, client_address):
        pass  # a client that gave up on the handshake

    def shutdown_request(self, request):
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_all(self):
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class FakeKubeApi:
    def __init__(self, certfile, keyfile, token="pulse-test-token", namespaces=("default",)):
        self.token = token
        self.namespaces = set(namespaces)
        self.pods = {}
        self.requests = []
        self.lock = threading.Lock()
        self.version = 1
        self._certfile, self._keyfile = str(certfile), str(keyfile)
        self._server = None
        self._thread = None
        self.port = None
        self._fault = None
        self._healed = threading.Event()

    @property
    def url(self):
        return f"https://{ph.LOOPBACK}:{self.port}"

    def add_pod(self, name, ns="default", **kw):
        pod = self._pod(name, ns, **kw)
        with self.lock:
            self.namespaces.add(ns)
            self.pods[(ns, name)] = pod
            self.version += 1
        return pod

    def _pod(self, name, ns="default", labels=None, phase="Running", ip=ph.LOOPBACK,
             sidecar_port=None, terminating=False, annotations=None,
             annotation="pulse.dev/sidecar-port"):
        ann = dict(annotations or {})
        if sidecar_port is not None:
            ann[annotation] = str(sidecar_port)
        meta = {"name": name, "namespace": ns, "uid": str(uuid.uuid4()),
                "labels": dict(labels or {}), "annotations": ann,
                "creationTimestamp": "2026-01-01T00:00:00Z"}
        if terminating:
            meta["deletionTimestamp"] = "2026-01-01T00:10:00Z"
            meta["deletionGracePeriodSeconds"] = 30
        pod_status = {"phase": phase}
        if ip:
            pod_status["podIP"] = ip
            pod_status["podIPs"] = [{"ip": ip}]
        pod = {"kind": "Pod", "apiVersion": "v1", "metadata": meta,
               "spec": {"containers": [{"name": "nginx", "image": "nginx"},
                                       {"name": "pulse-sidecar", "image": "pulse-sidecar"}]},
               "status": pod_status}
        return pod

    def add_pods(self, specs):
        """add_pod for each dict of its arguments, in one step."""
        made = [self._pod(**spec) for spec in specs]
        with self.lock:
            for pod in made:
                meta = pod["metadata"]
                self.namespaces.add(meta["namespace"])
                self.pods[(meta["namespace"], meta["name"])] = pod
            self.version += 1

    def remove_pods(self, names, ns="default"):
        with self.lock:
            for name in names:
                self.pods.pop((ns, name), None)
            self.version += 1

    def fault(self, mode, **options):
        """Every request from now on answers as `mode` says (see the module's doc); None
        heals the API and releases requests waiting in "slow"."""
        if mode is None:
            self._fault = None
            self._healed.set()
        else:
            self._healed.clear()
            self._fault = (mode, options)

    def remove_pod(self, name, ns="default"):
        with self.lock:
            self.pods.pop((ns, name), None)
            self.version += 1

    def _record(self, path, query, auth):
        with self.lock:
            self.requests.append((path, query, auth))

    def requests_to(self, path):
        with self.lock:
            return [r for r in self.requests if r[0] == path]

    def start(self):
        """Listens on a free port, or again on the same one after stop()."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self._certfile, self._keyfile)
        self._server = _Server((ph.LOOPBACK, self.port or 0), _Handler, ctx)
        self._server.api = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"fake-kube-api-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._healed.set()  # requests waiting in a "slow" fault end
        self._server.shutdown()
        self._server.server_close()
        self._server.close_all()  # kept-alive connections too: nothing answers any more
        self._thread.join(timeout=10)
        self._server = None


# ---------------------------------------------------------------------------
# the adapter under test


class AdapterProcess:
    """`pulse-sidecar adapter` on a free loopback port, serving with certs.server_* and
    trusting certs.front_proxy_ca for clients, reading pods from `kube` (a FakeKubeApi).
    `args` are extra flags; `kube_flags=False` leaves the --kube-* flags out, `kube_api`
    replaces the fake API's URL."""

    def __init__(self, certs, kube, *args, dir, token=None, kube_flags=True, kube_api=None, env=None):
        path = ph.sidecar_path()
        if not path.is_file():
            raise ph.HarnessError(f"sidecar not built: run make (no {path})")
        self.certs = certs
        self.dir = Path(dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = ph.free_port()
        self.log_path = self.dir / f"adapter-{self.port}.log"
        self.token_file = self.dir / f"token-{self.port}"
        self.token_file.write_text((token if token is not None else kube.token) + "\n")
        self.cmd = [str(path), "adapter", "--listen", f"{ph.LOOPBACK}:{self.port}",
                    "--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key),
                    "--client-ca", str(certs.front_proxy_ca)]
        if kube_flags:
            self.cmd += ["--kube-api", kube_api or kube.url, "--kube-token-file", str(self.token_file),
                         "--kube-ca", str(certs.ca)]
        self.cmd += list(args)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.lower().endswith("_proxy") and not k.startswith("KUBERNETES_")}
        self.env.update(env or {})
        self.proc = None
        self.rc = None

    @property
    def base_url(self):
        return f"https://{ph.LOOPBACK}:{self.port}"

    def start(self, timeout=30):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        ph.wait_for(lambda: self.proc.poll() is not None or ph.port_open(self.port),
                    timeout=timeout, message=f"adapter on port {self.port}")
        if self.proc.poll() is not None:
            raise ph.HarnessError(f"adapter exited {self.proc.returncode}:\n{ph.tail(self.log_path)}")
        return self

    def ssl_context(self, cert=True, rogue=False):
        ctx = ssl.create_default_context(cafile=str(self.certs.ca))
        if rogue:
            ctx.load_cert_chain(str(self.certs.rogue_cert), str(self.certs.rogue_key))
        elif cert:
            ctx.load_cert_chain(str(self.certs.client_cert), str(self.certs.client_key))
        return ctx

    def request(self, path, cert=True, rogue=False, headers=None, method="GET", timeout=15):
        """One HTTPS request on a fresh connection, the path sent as given (a literal `*`
        stays a `*`). Returns (status, headers dict (lowercase names), body bytes)."""
        conn = http.client.HTTPSConnection(ph.LOOPBACK, self.port, timeout=timeout,
                                           context=self.ssl_context(cert, rogue))
        try:
            conn.request(method, path, headers=dict(headers or {}))
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
        finally:
            conn.close()

    def get_json(self, path, **kw):
        status, headers, body = self.request(path, **kw)
        return status, json.loads(body)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout=10):
        if self.proc is None:
            return
        ph.stop_process(self.proc, timeout=timeout)
        self._log.close()
        self.rc = self.proc.returncode
        self.proc = None


def run_adapter_expecting_exit(cmd, timeout=20, env=None):
    """Runs an adapter command line that must exit by itself; returns (rc, output)."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, env=env)
    return r.returncode, r.stdout
