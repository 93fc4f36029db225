"""Checks of the harness pieces that do not need the pulse module."""

import signal
import socket
import urllib.parse

import pytest

import pulse_harness as ph


def test_free_port_is_bindable_and_not_repeated():
    ports = {ph.free_port() for _ in range(20)}
    assert len(ports) == 20
    for port in list(ports)[:3]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_upstream_paths(upstream):
    status, headers, body = ph.http_get(upstream.url("/status/503"))
    assert status == 503
    assert headers.first("content-length") == str(len(body))

    status, _, _ = ph.http_get(upstream.url("/status/404"), method="HEAD")
    assert status == 404

    status, _, body = ph.http_get(upstream.url("/status/204"))
    assert (status, body) == (204, b"")

    assert ph.http_get(upstream.url("/delay/50"))[0] == 200

    cc = "public, max-age=60, must-revalidate"
    status, headers, _ = ph.http_get(upstream.url("/cc/" + urllib.parse.quote(cc, safe="")))
    assert status == 200
    assert headers["cache-control"] == [cc]

    status, headers, body = ph.http_get(upstream.url("/app.css?ct=text/css&size=1000"))
    assert headers.first("content-type") == "text/css"
    assert len(body) == 1000

    status, _, body = ph.http_get(upstream.url("/anything"), method="POST", data="hello",
                                  headers={"Host": "example.test"})
    assert status == 200 and b"/anything" in body
    method, path, hdrs, sent = upstream.requests[-1]
    assert (method, path, hdrs["Host"], sent) == ("POST", "/anything", "example.test", b"hello")


def test_upstream_keepalive(upstream):
    request = (f"GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
               f"GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").encode()
    answer = ph.raw_request("127.0.0.1", upstream.port, request)
    assert answer.count(b"HTTP/1.1 200") == 2
    assert b"/one" in answer and b"/two" in answer


def test_upstream_websocket_echo(upstream):
    with ph.WebSocketClient("127.0.0.1", upstream.port, "/ws", host_header="ws.test") as ws:
        assert ws.status == 101
        assert ws.headers.first("upgrade") == "websocket"
        assert ws.echo(b"ping") == b"ping"
        assert ws.echo(b"x" * 100000) == b"x" * 100000
    with pytest.raises(ph.HarnessError, match="upgrade refused"):
        ph.WebSocketClient("127.0.0.1", upstream.port, "/not-ws")


def test_upstream_stop_closes_open_websockets():
    up = ph.Upstream().start()
    ws = ph.WebSocketClient("127.0.0.1", up.port, "/ws")
    up.stop()
    ws.sock.settimeout(5)
    assert ws.recv() == b""
    ws.close()


def test_promtool_check_metrics(upstream):
    rc, out = ph.promtool_check_metrics(upstream.metrics_text())
    assert rc == 0, out
    rc, out = ph.promtool_check_metrics("# TYPE x counter\nx{a=\"unterminated} 1\n")
    assert rc == 1, out
    rc, out = ph.promtool_check_metrics("# TYPE bad_name counter\nbad_name 1\n")
    assert rc == 3, out  # lint: a counter without _total
    assert "_total" in out


def test_kubectl_unpacks():
    assert ph.kubectl().is_file()


def test_prometheus_scrapes_upstream(upstream, prometheus_factory):
    prom = prometheus_factory([("upstream", upstream.address, "/metrics")])
    targets = prom.wait_targets_up()
    assert [t["health"] for t in targets] == ["up"]
    result = ph.wait_for(lambda: prom.query('pulse_test_upstream_requests_total{job="upstream"}'),
                         message="the series in prometheus")
    assert float(result[0]["value"][1]) >= 1


def test_prometheus_reports_down_target(prometheus_factory):
    dead = ph.free_port()
    prom = prometheus_factory([("dead", f"127.0.0.1:{dead}", "/metrics")])
    ph.wait_for(lambda: any(t["lastError"] for t in prom.active_targets()),
                message="a failed scrape")
    with pytest.raises(ph.HarnessError, match="connection refused"):
        prom.wait_targets_up(timeout=1)


PLAIN = """
server {
    listen 127.0.0.1:@@http@@;
    location / { return 200 "ok"; }
    location /proxy/ { proxy_pass http://127.0.0.1:@@upstream_port@@/; }
    location /static/ { root @@dir@@/html; }
}
"""


def test_plain_nginx_lifecycle(nginx_factory, upstream):
    body = PLAIN.replace("@@upstream_port@@", str(upstream.port))
    ng = nginx_factory(body, load_module=False)
    assert ng.test_config()[0] == 0
    assert ph.http_get(ng.url("http", "/"))[::2] == (200, b"ok")

    ng.write_file("html/static/a.txt", "static file\n")
    assert ph.http_get(ng.url("http", "/static/a.txt"))[::2] == (200, b"static file\n")
    assert ph.http_get(ng.url("http", "/proxy/status/502"))[0] == 502

    answer = ph.raw_request("127.0.0.1", ng.port("http"), b"GET /\x00 HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")

    before = set(ng.worker_pids())
    assert len(before) == 2
    ng.reload(body.replace('"ok"', '"reloaded"'))
    assert not before & set(ng.worker_pids())
    assert ph.http_get(ng.url("http", "/"))[::2] == (200, b"reloaded")

    killed = ng.kill_worker()
    assert killed not in ng.worker_pids() and len(ng.worker_pids()) == 2
    assert ph.http_get(ng.url("http", "/"))[0] == 200
    assert "exited on signal 9" in ng.error_log()
    assert ng.crashed_workers() == []

    with pytest.raises(ph.HarnessError, match="rejected the reload"):
        ng.reload(body + "\nno_such_directive on;\n")
    assert ph.http_get(ng.url("http", "/"))[::2] == (200, b"reloaded")

    master, workers = ng.master_pid, ng.worker_pids()
    ng.stop()
    assert not any(ph.pid_alive(p) for p in [master] + workers)
    assert not ph.port_open(ng.port("http"))


def test_nginx_bad_config_is_reported(nginx_factory):
    ng = nginx_factory("server { listen 127.0.0.1:@@http@@; bogus_directive 1; }",
                       load_module=False, start=False)
    rc, out = ng.test_config()
    assert rc != 0 and "bogus_directive" in out
    with pytest.raises(ph.HarnessError, match="bogus_directive"):
        ng.start()


def test_nginx_foreground(nginx_factory):
    ng = nginx_factory(PLAIN.replace("@@upstream_port@@", "9"), load_module=False,
                       foreground=True)
    assert ng.worker_pids() == [ng.master_pid]
    assert ph.http_get(ng.url("http", "/"))[::2] == (200, b"ok")
    ng.stop()
    assert ng.proc is None


def test_module_missing_message(monkeypatch, tmp_path):
    monkeypatch.setenv("PULSE_BUILD_DIR", str(tmp_path))
    monkeypatch.delenv("PULSE_MODULE", raising=False)  # it would name a module that exists
    with pytest.raises(ph.HarnessError, match="module not built: run make"):
        ph.Nginx(tmp_path / "ng", "")


def test_kill_worker_signal_choice(nginx_factory):
    ng = nginx_factory(PLAIN.replace("@@upstream_port@@", "9"), load_module=False, workers=1)
    pid = ng.kill_worker(signal.SIGTERM)
    assert pid not in ng.worker_pids()


def test_listen_ports_found_on_one_line(tmp_path):
    ng = ph.Nginx(tmp_path, "server { listen 127.0.0.1:@@a@@; listen @@b@@ default_server; }",
                  load_module=False)
    assert ng.listen_ports() == sorted([ng.port("a"), ng.port("b")])
