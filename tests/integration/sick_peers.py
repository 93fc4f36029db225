"""Hostile and broken peers for test_reliability_peers.py and bench/slow_clients.py.

LyingSidecar: a small HTTP server on loopback that the fake Kubernetes API lists as a
pod's sidecar (through the port annotation), and answers /signals with something a real
sidecar never sends: garbage, a body of 100 MB, nothing for a long time, a document
that claims a timestamp an hour ahead.

SlowCrowd: thousands of connections to one port, driven from one thread with selectors:
idle ones that never send a byte, slow ones that send a request head (or a TLS
ClientHello, or a request head over TLS) one byte a second. When the server closes one
(its header or handshake deadline), it is opened again at once, so that the pressure
lasts as long as the crowd does.

Also: resident memory of a process, and percentiles. Standard library only.
"""

import json
import os
import selectors
import socket
import ssl
import threading
import time

LOOPBACK = "127.0.0.1"
MB = 1000 * 1000


def memory_kib(pid):
    """{"VmRSS": KiB, "VmHWM": KiB} of a process."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1])
    return out


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def percentile(values, p):
    """The nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def latency_line(name, seconds):
    return (f"{name}: n={len(seconds)} p50={percentile(seconds, 50) * 1000:.1f}ms "
            f"p99={percentile(seconds, 99) * 1000:.1f}ms max={max(seconds) * 1000:.1f}ms")


# ---------------------------------------------------------------------------
# a sidecar that lies


def signals_document(timestamp_unix, pod_values=None, stale=False):
    """A /signals document as a real sidecar writes it (sidecar/lib/signals_json.cpp)."""
    return {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(timestamp_unix)),
        "timestamp_unix": timestamp_unix, "age_seconds": 0.0, "stale": stale,
        "stale_after_seconds": 3.0, "draining": False, "window_seconds": 4.0, "samples": 5,
        "last_error": None, "pod": dict(pod_values or {}), "servers": {},
    }


class LyingSidecar:
    """Answers every request as `mode` says:

      "garbage"        200, a body that is not JSON
      "not_http"       bytes that are not HTTP, then a close
      "nested"         200, JSON arrays nested 500,000 deep (1 MB, within the body limit)
      "huge"           200 with Content-Length: 100 MB, streamed
      "huge_chunked"   200, chunked, 100 MB streamed
      "huge_header"    a header line that never ends (100 MB streamed)
      "slow"           reads the request, then sends nothing for `delay` seconds
      "dribble"        a good document, one byte every 0.2 s
      "future"         a good, fresh-looking document timestamped `ahead` seconds from now
      "old"            a document `ahead` seconds old that still says "stale": false

    .sent[mode] counts the bytes it managed to write (a client that cuts a huge answer
    short makes it stop early); .requests counts the requests.
    """

    HUGE = 100 * MB

    def __init__(self, mode, delay=30.0, ahead=3600.0, pod_values=None):
        self.mode = mode
        self.delay = delay
        self.ahead = ahead
        self.pod_values = pod_values or {"pulse_requests_per_second": 7.0,
                                         "pulse_error_ratio": 0.0,
                                         "pulse_websocket_connections": 3.0}
        self.requests = 0
        self.sent = 0
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(256)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True, name=f"liar-{mode}")

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stop_event.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        self.thread.join(timeout=10)

    def _accept(self):
        while not self.stop_event.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _write(self, conn, data):
        conn.sendall(data)
        with self.lock:
            self.sent += len(data)

    def _stream(self, conn, total, chunk, framing=None):
        """`total` bytes of `chunk` repeated; stops when the client goes."""
        left = total
        while left > 0 and not self.stop_event.is_set():
            piece = chunk[:min(left, len(chunk))]
            if framing == "chunked":
                self._write(conn, b"%x\r\n" % len(piece) + piece + b"\r\n")
            else:
                self._write(conn, piece)
            left -= len(piece)

    def _serve(self, conn):
        with self.lock:
            self.requests += 1
        try:
            conn.settimeout(30)
            request = b""
            while b"\r\n\r\n" not in request:
                data = conn.recv(4096)
                if not data:
                    return
                request += data
            self._answer(conn)
        except OSError:
            pass  # the client gave up: what a lying sidecar sees when it is cut off
        finally:
            conn.close()

    def _answer(self, conn):
        mode = self.mode
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        pad = b" " * (1 << 16)  # JSON whitespace: the document would be valid if it ended
        if mode == "garbage":
            body = b"\x00\xff{\"stale\": fal\xc3\x28se, <html>oops</html>"
            self._write(conn, head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        elif mode == "not_http":
            self._write(conn, b"\x16\x03\x01\x02\x00 SSH-2.0-OpenSSH_9.2\r\n\xff\xfe\r\n\r\n")
        elif mode == "nested":
            depth = 500_000
            self._write(conn, head + b"Content-Length: %d\r\n\r\n" % (2 * depth))
            self._write(conn, b"[" * depth + b"]" * depth)
        elif mode == "huge":
            start = b'{"stale": false, "timestamp_unix": %f, "pad": "' % time.time()
            self._write(conn, head + b"Content-Length: %d\r\n\r\n" % self.HUGE + start)
            self._stream(conn, self.HUGE - len(start), b"a" * (1 << 16))
        elif mode == "huge_chunked":
            self._write(conn, head + b"Transfer-Encoding: chunked\r\n\r\n")
            self._write(conn, b'1\r\n{\r\n')
            self._stream(conn, self.HUGE, pad, framing="chunked")
        elif mode == "huge_header":
            self._write(conn, b"HTTP/1.1 200 OK\r\nX-Pad: ")
            self._stream(conn, self.HUGE, b"a" * (1 << 16))
        elif mode == "slow":
            self.stop_event.wait(self.delay)
        elif mode == "dribble":
            body = json.dumps(signals_document(time.time(), self.pod_values)).encode()
            data = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
            for i in range(len(data)):
                if self.stop_event.wait(0.2):
                    return
                self._write(conn, data[i:i + 1])
        elif mode == "future":
            body = json.dumps(signals_document(time.time() + self.ahead, self.pod_values)).encode()
            self._write(conn, head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        elif mode == "old":
            body = json.dumps(signals_document(time.time() - self.ahead, self.pod_values)).encode()
            self._write(conn, head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        else:
            raise AssertionError(f"unknown mode {mode!r}")


# ---------------------------------------------------------------------------
# slow and idle clients


def client_hello():
    """A real TLS ClientHello's bytes, to send one at a time."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="pulse")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    assert hello[0] == 0x16 and len(hello) > 100, hello[:10]  # a handshake record
    return hello


# One request head that never ends: a client a byte a second keeps it open for ever if
# nothing closes it.
SLOW_HEAD = b"GET /readyz HTTP/1.1\r\nHost: pulse\r\nUser-Agent: slow\r\nX-Slow: " + b"a" * 100000


class _Client:
    __slots__ = ("kind", "sock", "tls", "state", "sent", "slot", "opened")

    def __init__(self, kind, slot):
        self.kind = kind
        self.slot = slot
        self.sock = None
        self.tls = None
        self.state = "closed"
        self.sent = 0
        self.opened = 0.0


class SlowCrowd:
    """`counts` connections of each kind to 127.0.0.1:`port`, held from one thread:

      "idle"          connects and sends nothing
      "slow_head"     a plain request head, one byte a second
      "slow_hello"    a TLS ClientHello, one byte a second
      "slow_tls_head" a TLS handshake (with `tls_context`), then a request head over TLS,
                      one byte a second

    A connection the server closes is opened again at once (a second later when the
    connect itself failed). .stats() tells how many are open and how many were closed by
    the server, by kind."""

    SLOTS = 20  # each second is cut in 20 slots; a connection sends in its own

    def __init__(self, port, counts, tls_context=None, tls_server_name="localhost"):
        self.port = port
        self.tls_context = tls_context
        self.tls_server_name = tls_server_name
        self.hello = client_hello() if counts.get("slow_hello") else b""
        self.clients = []
        self.by_slot = [[] for _ in range(self.SLOTS)]
        for kind, n in counts.items():
            for _ in range(n):
                c = _Client(kind, len(self.clients) % self.SLOTS)
                self.clients.append(c)
                if kind != "idle":
                    self.by_slot[c.slot].append(c)
        self.selector = selectors.DefaultSelector()
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.counters = {k: {"opened": 0, "closed_by_server": 0, "connect_failed": 0,
                             "bytes": 0} for k in counts}
        self.retry = []  # (when, client): connects that failed, tried again later
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"crowd-{port}")

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=30)
        for c in self.clients:
            self._close(c)
        self.selector.close()

    def stats(self):
        with self.lock:
            out = {k: dict(v) for k, v in self.counters.items()}
        for k in out:
            out[k]["open"] = sum(1 for c in self.clients if c.kind == k and c.state != "closed")
        return out

    # -- the loop

    def _count(self, c, what, n=1):
        with self.lock:
            self.counters[c.kind][what] += n

    def _open(self, c):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = s.connect_ex((LOOPBACK, self.port))
        if err not in (0, 115):  # EINPROGRESS
            s.close()
            self._count(c, "connect_failed")
            self.retry.append((time.monotonic() + 1, c))
            return
        c.sock, c.tls, c.sent, c.state = s, None, 0, "connecting"
        c.opened = time.monotonic()
        self.selector.register(s, selectors.EVENT_WRITE, c)

    def _close(self, c):
        if c.sock is None:
            return
        try:
            self.selector.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        (c.tls or c.sock).close()
        c.sock, c.tls, c.state = None, None, "closed"

    def _lost(self, c):
        """The server closed it: counted, and opened again."""
        self._count(c, "closed_by_server")
        self._close(c)
        if not self.stop_event.is_set():
            self._open(c)

    def _connected(self, c):
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._count(c, "connect_failed")
            self._close(c)
            self.retry.append((time.monotonic() + 1, c))
            return
        self._count(c, "opened")
        if c.kind == "slow_tls_head":
            c.tls = self.tls_context.wrap_socket(c.sock, server_hostname=self.tls_server_name,
                                                 do_handshake_on_connect=False)
            c.state = "handshake"
            self.selector.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
            self._handshake(c)
            return
        c.state = "holding"
        self.selector.modify(c.sock, selectors.EVENT_READ, c)

    def _handshake(self, c):
        try:
            c.tls.do_handshake()
        except ssl.SSLWantReadError:
            self.selector.modify(c.sock, selectors.EVENT_READ, c)
            return
        except ssl.SSLWantWriteError:
            self.selector.modify(c.sock, selectors.EVENT_WRITE, c)
            return
        except (ssl.SSLError, OSError):
            return self._lost(c)
        c.state = "holding"
        self.selector.modify(c.sock, selectors.EVENT_READ, c)

    def _readable(self, c):
        try:
            data = (c.tls or c.sock).recv(65536)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return  # a TLS 1.3 session ticket, say: nothing for the application
        except (ssl.SSLError, OSError):
            return self._lost(c)
        if not data:
            return self._lost(c)
        # An answer (a 408, say) is read and dropped; the server closes after it.

    def _drip(self, slot):
        for c in self.by_slot[slot]:
            if c.state != "holding":
                continue
            data = self.hello if c.kind == "slow_hello" else SLOW_HEAD
            if c.sent >= len(data):
                continue
            try:
                n = (c.tls or c.sock).send(data[c.sent:c.sent + 1])
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                continue
            except (ssl.SSLError, OSError):
                self._lost(c)
                continue
            c.sent += n
            self._count(c, "bytes", n)

    def _run(self):
        for c in self.clients:
            self._open(c)
        tick = 1.0 / self.SLOTS
        next_tick, slot = time.monotonic(), 0
        while not self.stop_event.is_set():
            timeout = max(0.0, next_tick - time.monotonic())
            for key, events in self.selector.select(timeout):
                c = key.data
                if c.state == "connecting":
                    self._connected(c)
                elif c.state == "handshake":
                    self._handshake(c)
                elif events & selectors.EVENT_READ:
                    self._readable(c)
            now = time.monotonic()
            if now >= next_tick:
                self._drip(slot)
                slot = (slot + 1) % self.SLOTS
                next_tick += tick
                if next_tick < now - 1:  # the loop fell behind: do not catch up in a burst
                    next_tick = now + tick
                due = [r for r in self.retry if r[0] <= now]
                self.retry = [r for r in self.retry if r[0] > now]
                for _, c in due:
                    if c.state == "closed":
                        self._open(c)
