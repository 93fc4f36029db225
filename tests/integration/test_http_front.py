"""The HTTP front of `pulse-sidecar run` and `pulse-sidecar adapter`
(sidecar/app/http_server.cpp) against clients that hold connections without finishing a
request: 2,000 idle TCP connections, 200 slowloris connections (one header byte a second)
and, on the adapter, 200 connections stopped in the middle of a TLS handshake. While they
are held, the probes and the custom metrics API must answer every time, and right; when
they go, the process's memory must come back near its resting level. Also: oversized
request lines, headers and bodies, malformed requests, the deadlines, and the cap on open
connections that sheds the oldest idle one first.

Everything is real: nginx with the module, the sidecar scraping it, the adapter over TLS
with client certificates, the fake Kubernetes API of test_adapter.py for the pod list.
"""

import http.client
import json
import os
import socket
import ssl
import threading
import time

import pytest

import pulse_harness as ph
from certs import make_certs
from fake_kube_api import AdapterProcess, FakeKubeApi

IDLE = 2000
SLOWLORIS = 200
STALLED_HANDSHAKES = 200
PROBES = 100
PODS_PATH = ("/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/"
             "pulse_requests_per_second?labelSelector=app%3Dweb")

NGINX = """
    pulse_zone pulse 1m;
    server {
        listen 127.0.0.1:@@http@@;
        server_name web;
        location = /metrics { pulse_exporter; pulse_metrics off; }
        location / { return 200 "ok"; }
    }
"""
FAST = ("--interval", "200ms", "--window", "2s", "--stale-after", "2s")
# Under AddressSanitizer freed memory waits in its quarantine: resident memory says nothing.
SANITIZED = "ASAN_OPTIONS" in os.environ


# This process holds some thousands of sockets at once.
pytestmark = pytest.mark.usefixtures("many_sockets")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def client_hello_start():
    """The first half of a real TLS ClientHello: a handshake that never goes on."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="pulse")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    hello = outgoing.read()
    assert hello[0] == 0x16 and len(hello) > 100  # a handshake record
    return hello[: len(hello) // 2]


def read_to_end(sock):
    """Everything the server sends until it closes the connection."""
    sock.settimeout(30)
    received = b""
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except (ssl.SSLError, ConnectionError):
            break
        if not chunk:
            break
        received += chunk
    return received


def closed_by_peer(sock, wait=0.0):
    """True when the server has closed the connection (EOF or reset)."""
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except (socket.timeout, BlockingIOError):
        return False
    except ConnectionError:
        return True


class Crowd:
    """Clients that hold connections to one port without finishing a request."""

    SLOW_HEAD = b"GET /readyz HTTP/1.1\r\nHost: pulse\r\nX-Slow: " + b"a" * 4096

    def __init__(self, port):
        self.port = port
        self.idle, self.slow, self.stalled = [], [], []
        self.stop = threading.Event()
        self.sent = 0
        self.slow_closed = 0
        self.thread = None

    def connect(self):
        return socket.create_connection((ph.LOOPBACK, self.port), timeout=10)

    def hold_idle(self, n):
        self.idle += [self.connect() for _ in range(n)]

    def hold_slowloris(self, n, tls_context=None):
        for _ in range(n):
            s = self.connect()
            if tls_context is not None:
                s = tls_context.wrap_socket(s, server_hostname="localhost")
            s.sendall(self.SLOW_HEAD[:1])
            self.slow.append(s)
        self.thread = threading.Thread(target=self._drip, daemon=True)
        self.thread.start()

    def hold_stalled_handshakes(self, n):
        start = client_hello_start()
        for _ in range(n):
            s = self.connect()
            s.sendall(start)
            self.stalled.append(s)

    def _drip(self):
        i = 1
        while not self.stop.wait(1.0):
            for s in list(self.slow):
                try:
                    s.sendall(self.SLOW_HEAD[i:i + 1])
                    self.sent += 1
                except OSError:
                    self.slow.remove(s)
                    self.slow_closed += 1
            i += 1

    def close(self):
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        for s in self.idle + self.slow + self.stalled:
            s.close()
        self.idle, self.slow, self.stalled = [], [], []


def start_pair(nginx_factory, sidecar_factory, *flags):
    ng = nginx_factory(NGINX)
    sc = sidecar_factory(ng.url("http", "/metrics"), *FAST, *flags)
    ph.wait_for(lambda: sc.get("/readyz")[0] == 200, message="sidecar ready")
    return ng, sc


def settle_memory(pid, rest, held):
    """Waits until the resident memory is back near rest (the front gives memory back a
    few seconds after many connections closed); returns it."""
    if SANITIZED:
        return None
    allowance = max(2048, (held - rest) // 4)
    print(f"resident memory: rest {rest} KiB, held {held} KiB")
    try:
        return ph.wait_for(lambda: (lambda r: r if r <= rest + allowance else None)(rss_kib(pid)),
                           timeout=30, interval=0.5, message="memory back near its resting level")
    except ph.HarnessError:
        raise AssertionError(f"resident memory did not come back: rest {rest} KiB, held {held} KiB, "
                             f"now {rss_kib(pid)} KiB (allowance {allowance} KiB)")


# ---------------------------------------------------------------------------
# the sidecar


def test_sidecar_answers_probes_while_idle_and_slow_clients_hold_connections(nginx_factory, sidecar_factory):
    ng, sc = start_pair(nginx_factory, sidecar_factory)
    pid = sc.proc.pid
    for _ in range(20):  # the resting level includes a few served requests
        sc.get("/readyz")
    rest = rss_kib(pid)
    crowd = Crowd(sc.port)
    try:
        crowd.hold_idle(IDLE)
        crowd.hold_slowloris(SLOWLORIS)
        ph.wait_for(lambda: open_fds(pid) >= IDLE + SLOWLORIS, message="the crowd accepted")
        answers = [sc.get("/readyz", timeout=30) for _ in range(PROBES)]
        assert [(s, b) for s, _, b in answers] == [(200, b"ready\n")] * PROBES
        status, _, body = sc.get("/signals", timeout=30)
        assert status == 200 and json.loads(body)["stale"] is False
        # The crowd was held, not refused: every idle socket is still open.
        assert not any(closed_by_peer(s) for s in crowd.idle[-50:])
        held = rss_kib(pid)
    finally:
        crowd.close()
    ph.wait_for(lambda: open_fds(pid) < 100, message="the crowd's connections closed")
    settle_memory(pid, rest, held)
    assert sc.get("/readyz")[0] == 200


def test_deadlines_close_idle_slow_and_unread_connections(nginx_factory, sidecar_factory):
    ng, sc = start_pair(nginx_factory, sidecar_factory, "--header-timeout", "1s", "--idle-timeout",
                        "2s", "--write-timeout", "1s")
    crowd = Crowd(sc.port)
    try:
        # Connected and silent: closed once the first request's head is overdue.
        crowd.hold_idle(5)
        ph.wait_for(lambda: all(closed_by_peer(s, 0.1) for s in crowd.idle), timeout=30,
                    message="idle connections closed")
        # One byte a second never finishes a head: closed as well.
        crowd.hold_slowloris(5)
        ph.wait_for(lambda: crowd.slow_closed == 5, timeout=30, message="slowloris connections closed")
        # A keep-alive connection between requests: closed after the idle timeout.
        conn = http.client.HTTPConnection(ph.LOOPBACK, sc.port, timeout=10)
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b"ok\n")
        assert resp.getheader("Connection") != "close"
        ph.wait_for(lambda: closed_by_peer(conn.sock, 0.1), timeout=30, message="keep-alive closed")
        conn.close()
    finally:
        crowd.close()
    # A client that asks and never reads: once the socket buffers are full, the response
    # is dropped after the write timeout and the connection closed, not held for ever.
    s = crowd.connect()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    requests = 20000
    sender = threading.Thread(target=lambda: _send_quietly(s, b"GET /metrics HTTP/1.1\r\nHost: p\r\n\r\n" * requests),
                              daemon=True)
    sender.start()
    time.sleep(3)  # the server's writes stall on the full buffers and time out
    received = read_to_end(s)
    s.close()
    answered = received.count(b"HTTP/1.1 200 OK")
    assert 0 < answered < requests, answered
    # Nothing else was affected.
    assert sc.get("/readyz")[0] == 200


def _send_quietly(sock, data):
    try:
        sock.sendall(data)
    except OSError:
        pass


def test_connection_cap_sheds_the_oldest_idle_first(nginx_factory, sidecar_factory):
    ng, sc = start_pair(nginx_factory, sidecar_factory, "--max-connections", "50")
    crowd = Crowd(sc.port)
    try:
        crowd.hold_idle(200)
        # Each new connection over the cap closed the one that had waited longest.
        ph.wait_for(lambda: all(closed_by_peer(s, 0.05) for s in crowd.idle[:140]), timeout=30,
                    message="the oldest idle connections shed")
        assert not any(closed_by_peer(s, 0.05) for s in crowd.idle[-40:])
        for _ in range(20):
            status, _, body = sc.get("/readyz", timeout=30)
            assert (status, body) == (200, b"ready\n")
        # A connection whose request is being answered is not shed: a drain (which waits
        # for two scrapes) gets its answer through a flood of new connections.
        busy = http.client.HTTPConnection(ph.LOOPBACK, sc.port, timeout=30)
        busy.request("POST", "/drain?timeout=10s")
        crowd.hold_idle(100)
        resp = busy.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["drained"] is True
        busy.close()
    finally:
        crowd.close()


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: p\r\n\r\n", 414),
    (b"GET /" + b"a" * 40000 + b" HTTP/1.1\r\nHost: p\r\n\r\n", 414),
    (b"GET /readyz HTTP/1.1\r\nHost: p\r\n" + b"X-Big: " + b"b" * 33000 + b"\r\n\r\n", 431),
    (b"GET /readyz HTTP/1.1\r\nHost: p\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"c" * 100) for i in range(400))
     + b"\r\n", 431),
    (b"POST /drain HTTP/1.1\r\nHost: p\r\nContent-Length: 100000\r\n\r\n" + b"d" * 100000, 413),
    (b"POST /drain HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\n"
     + b"".join(b"4000\r\n" + b"e" * 0x4000 + b"\r\n" for _ in range(6)) + b"0\r\n\r\n", 413),
    (b"GET /readyz HTTP/1.1\r\nHost p\r\n\r\n", 400),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
])
def test_oversized_and_malformed_requests_get_their_status_and_a_close(nginx_factory, sidecar_factory,
                                                                      request_bytes, status):
    ng, sc = start_pair(nginx_factory, sidecar_factory)
    with socket.create_connection((ph.LOOPBACK, sc.port), timeout=30) as s:
        _send_quietly(s, request_bytes)
        received = read_to_end(s)
    head = received.split(b"\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 %d " % status), received[:300]
    assert b"\r\nConnection: close\r\n" in received, received[:300]
    assert received.count(b"HTTP/1.1 ") == 1  # nothing after the refusal was answered
    # Nothing else is affected: the pod is ready, a normal request is answered.
    status, _, body = sc.get("/readyz")
    assert (status, body) == (200, b"ready\n")


def test_keep_alive_pipelining_and_head(nginx_factory, sidecar_factory):
    ng, sc = start_pair(nginx_factory, sidecar_factory)
    with socket.create_connection((ph.LOOPBACK, sc.port), timeout=30) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: p\r\n\r\nHEAD /readyz HTTP/1.1\r\nHost: p\r\n\r\n"
                  b"GET /nope HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n")
        received = read_to_end(s)
    parts = received.split(b"HTTP/1.1 ")[1:]
    assert [p.split(b"\r\n", 1)[0] for p in parts] == [b"200 OK", b"200 OK", b"404 Not Found"], received
    assert parts[0].endswith(b"\r\n\r\nok\n")
    # HEAD: the length of the body it would have had, and no body.
    assert b"Content-Length: 6\r\n" in parts[1] and parts[1].endswith(b"\r\n\r\n")
    assert b"Connection: close" in parts[2] and parts[2].endswith(b"not found\n")


# ---------------------------------------------------------------------------
# the adapter (TLS)


@pytest.fixture
def adapter_setup(tmp_path_factory, nginx_factory, sidecar_factory):
    ng, sc = start_pair(nginx_factory, sidecar_factory)
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    kube = FakeKubeApi(certs.server_cert, certs.server_key).start()
    kube.add_pod("web-a", labels={"app": "web"}, sidecar_port=sc.port)
    adapter = AdapterProcess(certs, kube, dir=tmp_path_factory.mktemp("adapter"))
    try:
        adapter.start()
        ph.wait_for(lambda: adapter.request("/readyz", cert=False)[0] == 200, message="adapter ready")
        yield adapter, sc
    finally:
        adapter.stop()
        kube.stop()


def pods_answer_is_right(adapter):
    status, doc = adapter.get_json(PODS_PATH, timeout=30)
    return (status == 200 and doc["kind"] == "MetricValueList"
            and [i["describedObject"]["name"] for i in doc["items"]] == ["web-a"])


def test_adapter_answers_while_idle_slow_and_stalled_handshakes_hold_connections(adapter_setup):
    adapter, sc = adapter_setup
    pid = adapter.proc.pid
    for _ in range(10):
        assert pods_answer_is_right(adapter)
    rest = rss_kib(pid)
    crowd = Crowd(adapter.port)
    try:
        crowd.hold_idle(IDLE)
        crowd.hold_slowloris(SLOWLORIS, tls_context=adapter.ssl_context(cert=True))
        crowd.hold_stalled_handshakes(STALLED_HANDSHAKES)
        ph.wait_for(lambda: open_fds(pid) >= IDLE + SLOWLORIS + STALLED_HANDSHAKES,
                    message="the crowd accepted")
        for _ in range(PROBES):
            status, _, body = adapter.request("/readyz", cert=False, timeout=30)
            assert (status, body) == (200, b"ready\n")
            assert pods_answer_is_right(adapter)
        assert not any(closed_by_peer(s) for s in crowd.idle[-50:])
        held = rss_kib(pid)
    finally:
        crowd.close()
    ph.wait_for(lambda: open_fds(pid) < 100, message="the crowd's connections closed")
    settle_memory(pid, rest, held)
    assert pods_answer_is_right(adapter)


def tls_over_socket(sock, tls, incoming, outgoing, pieces=1):
    """Drives `tls` (an ssl.SSLObject on the BIOs `incoming` and `outgoing`) over `sock`
    until its handshake is done; its first flight (the ClientHello) goes in `pieces` parts
    0.2 s apart."""
    first = True
    while True:
        try:
            tls.do_handshake()
            done = True
        except ssl.SSLWantReadError:
            done = False
        out = outgoing.read()
        if out and first:
            step = max(1, len(out) // pieces)
            for i in range(0, len(out), step):
                sock.sendall(out[i:i + step])
                time.sleep(0.2)
            first = False
        elif out:
            sock.sendall(out)
        if done:
            return
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed during the handshake")
        incoming.write(data)


def test_adapter_greeting_read_whole_before_tls_and_non_tls_greetings_closed(adapter_setup):
    adapter, _ = adapter_setup
    # A ClientHello in three parts: the front waits for the whole record, then hands it
    # to the TLS handshake, which goes on as usual.
    ctx = adapter.ssl_context(cert=True)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with socket.create_connection((ph.LOOPBACK, adapter.port), timeout=30) as s:
        tls_over_socket(s, tls, incoming, outgoing, pieces=3)
        tls.write(b"GET /readyz HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n")
        s.sendall(outgoing.read())
        answer = b""
        while b"ready" not in answer:
            data = s.recv(65536)
            if not data:
                break
            incoming.write(data)
            try:
                answer += tls.read(65536)
            except ssl.SSLWantReadError:
                pass
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    # Not a TLS handshake record (plain HTTP on the TLS port), or a record longer than
    # TLS allows: closed without an answer, at once.
    for greeting in (b"GET /readyz HTTP/1.1\r\nHost: p\r\n\r\n", b"\x16\x03\x01\xff\xff"):
        with socket.create_connection((ph.LOOPBACK, adapter.port), timeout=30) as s:
            s.sendall(greeting)
            assert read_to_end(s) == b"", greeting
    assert pods_answer_is_right(adapter)


def test_adapter_refuses_oversized_requests_over_tls(adapter_setup):
    adapter, sc = adapter_setup
    ctx = adapter.ssl_context(cert=True)
    for request_bytes, status in (
            (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: p\r\n\r\n", 414),
            (b"GET /readyz HTTP/1.1\r\nHost: p\r\nX-Big: " + b"b" * 33000 + b"\r\n\r\n", 431)):
        with ctx.wrap_socket(socket.create_connection((ph.LOOPBACK, adapter.port), timeout=30),
                             server_hostname="localhost") as s:
            s.sendall(request_bytes)
            received = read_to_end(s)
        assert received.startswith(b"HTTP/1.1 %d " % status), received[:200]
        assert b"\r\nConnection: close\r\n" in received
    assert pods_answer_is_right(adapter)


def test_the_sidecar_links_no_civetweb():
    import subprocess
    binary = str(ph.sidecar_path())
    linked = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, text=True, check=True).stdout
    assert "libssl" in linked and "civetweb" not in linked, linked
    symbols = [s.split("@")[0] for s in subprocess.run(
        ["nm", "-D", "--undefined-only", binary], stdout=subprocess.PIPE, text=True, check=True).stdout.split()]
    assert "mg_start" not in symbols and "SSL_get0_peer_certificate" in symbols
