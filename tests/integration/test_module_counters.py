"""The module counts every request exactly: requests, durations, bytes, in-flight,
websockets and upstream attempts, with labels from the configuration only."""

import socket
import subprocess
import threading
import time

import pulse_harness as ph
import expo
from expo import Exposition

SERVER = """
    pulse_zone pulse 1m;
    upstream app {{ server 127.0.0.1:{up}; }}
    server {{
        listen 127.0.0.1:@@http@@;
        server_name shop.example;
        root @@dir@@/html;
        location = /metrics {{ pulse_exporter; pulse_metrics off; }}
        location /static/ {{ }}
        location /quiet/ {{ pulse_metrics off; return 200 "quiet"; }}
        location /named/ {{ pulse_location_name checkout; return 200 "named"; }}
        location /exact/ {{ pulse_status_codes exact; return 418; }}
        location /fail/ {{ return 503; }}
        location ~ \\.php$ {{ return 200 "php"; }}
        location /app/ {{ proxy_pass http://app/; proxy_read_timeout 30s; }}
        location /ws {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
        }}
    }}
    server {{
        listen 127.0.0.1:@@other@@;
        location / {{ return 204; }}
    }}
"""


def scrape(ng, port="http", settle=True):
    return expo.scrape(ng, port, settle)


def start(nginx_factory, upstream, workers=2):
    ng = nginx_factory(SERVER.format(up=upstream.port), workers=workers)
    ng.write_file("html/static/app.css", "body{}\n" * 10)
    return ng


def test_counts_each_request_once_with_configured_labels(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    for _ in range(7):
        assert ph.http_get(ng.url("http", "/static/app.css"))[0] == 200
    for _ in range(3):
        assert ph.http_get(ng.url("http", "/static/missing.css"))[0] == 404
    assert ph.http_get(ng.url("http", "/static/app.css"), method="HEAD")[0] == 200
    assert ph.http_get(ng.url("http", "/fail/x"), method="POST", data="x")[0] == 503
    assert ph.http_get(ng.url("http", "/named/a"))[0] == 200
    assert ph.http_get(ng.url("http", "/exact/a"))[0] == 418
    assert ph.http_get(ng.url("http", "/index.php"))[0] == 200
    assert ph.http_get(ng.url("http", "/quiet/a"))[0] == 200
    assert ph.http_get(ng.url("other", "/"), method="DELETE")[0] == 204

    e = scrape(ng)
    req = "nginx_http_requests_total"
    assert e.value(req, server="shop.example", location="/static/", method="GET", status="2xx") == 7
    assert e.value(req, server="shop.example", location="/static/", method="GET", status="4xx") == 3
    assert e.value(req, server="shop.example", location="/static/", method="HEAD", status="2xx") == 1
    assert e.value(req, server="shop.example", location="/fail/", method="POST", status="5xx") == 1
    assert e.value(req, server="shop.example", location="checkout", method="GET", status="2xx") == 1
    assert e.value(req, server="shop.example", location="/exact/", method="GET", status="418") == 1
    assert e.value(req, server="shop.example", location="~ \\.php$", method="GET", status="2xx") == 1
    other = f"127.0.0.1:{ng.port('other')}"
    assert e.value(req, server=other, location="/", method="DELETE", status="2xx") == 1
    # pulse_metrics off: neither the quiet location nor the scrapes are counted.
    assert e.total(req, location="/quiet/") == 0
    assert e.total(req, location="= /metrics") == 0
    assert e.total(req) == 16

    # Every request is in its location's duration histogram exactly once.
    count = "nginx_http_request_duration_seconds_count"
    assert e.value(count, server="shop.example", location="/static/") == 11
    assert e.value(count, server="shop.example", location="/fail/") == 1
    assert e.total(count) == 16
    assert e.value("nginx_http_requests_in_flight", server="shop.example") == 0


def test_bytes_are_what_went_over_the_wire(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    port = ng.port("http")
    sent = received = 0
    for path in ("/static/app.css", "/static/nope", "/named/x"):
        request = (f"GET {path} HTTP/1.1\r\nHost: shop.example\r\nX-Pad: {'p' * 50}\r\n"
                   "Connection: close\r\n\r\n").encode()
        response = ph.raw_request("127.0.0.1", port, request)
        assert response.startswith(b"HTTP/1.1 ")
        sent += len(request)
        received += len(response)
    e = scrape(ng)
    assert e.total("nginx_http_request_bytes_total") == sent
    assert e.total("nginx_http_response_bytes_total") == received


def test_upstream_attempts_statuses_and_timings(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    for path in ("/app/", "/app/x", "/app/status/500", "/app/delay/300"):
        ph.http_get(ng.url("http", path))
    e = scrape(ng)
    assert e.value("nginx_http_upstream_requests_total", upstream="app", status="2xx") == 3
    assert e.value("nginx_http_upstream_requests_total", upstream="app", status="5xx") == 1
    for family in ("connect", "header", "response"):
        assert e.value(f"nginx_http_upstream_{family}_seconds_count", upstream="app") == 4
    # The 300 ms answer is above the 0.25 s bucket, inside the 0.5 s one.
    buckets = e.buckets("nginx_http_upstream_response_seconds", upstream="app")
    assert buckets[0.25] == 3 and buckets[0.5] == 4
    assert e.value("nginx_http_upstream_response_seconds_sum", upstream="app") >= 0.3
    assert e.value("nginx_http_request_duration_seconds_sum", server="shop.example",
                   location="/app/") >= 0.3


def test_unreachable_upstream_counts_as_502(nginx_factory):
    dead = ph.free_port()
    ng = nginx_factory(f"""
        pulse_zone pulse 1m;
        upstream gone {{ server 127.0.0.1:{dead}; }}
        server {{
            listen 127.0.0.1:@@http@@;
            location = /metrics {{ pulse_exporter; pulse_metrics off; }}
            location / {{ proxy_pass http://gone; }}
        }}""")
    assert ph.http_get(ng.url("http", "/"))[0] == 502
    e = scrape(ng)
    assert e.value("nginx_http_upstream_requests_total", upstream="gone", status="5xx") == 1
    assert e.total("nginx_http_requests_total", status="5xx") == 1


def test_in_flight_counts_open_requests_but_not_the_scrape(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    done = []
    threads = [threading.Thread(target=lambda: done.append(
        ph.http_get(ng.url("http", "/app/delay/1500"), timeout=30)[0])) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        ph.wait_for(lambda: len([r for r in upstream.requests if "/delay/" in r[1]]) == 2,
                    message="both slow requests reached the upstream")
        e = scrape(ng, settle=False)
        assert e.value("nginx_http_requests_in_flight", server="shop.example") == 2
    finally:
        for t in threads:
            t.join()
    assert done == [200, 200]
    assert scrape(ng).value("nginx_http_requests_in_flight", server="shop.example") == 0


def test_websocket_connections_gauge_follows_open_upgrades(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    gauge = dict(server="shop.example", location="/ws")
    clients = [ph.WebSocketClient("127.0.0.1", ng.port("http"), "/ws") for _ in range(3)]
    try:
        assert clients[0].echo(b"ping") == b"ping"
        e = scrape(ng)
        assert e.value("nginx_http_websocket_connections", **gauge) == 3
        # Upgraded connections are not requests in flight (a drain does not wait for them).
        assert e.value("nginx_http_requests_in_flight", server="shop.example") == 0
        clients.pop().close()
        ph.wait_for(lambda: scrape(ng).value("nginx_http_websocket_connections", **gauge) == 2,
                    message="gauge drops when a websocket closes")
    finally:
        for c in clients:
            c.close()
    ph.wait_for(lambda: scrape(ng).value("nginx_http_websocket_connections", **gauge) == 0,
                message="gauge back to 0")
    # Each upgraded request is counted once, as a 101, when it ends.
    e = scrape(ng)
    assert e.value("nginx_http_requests_total", method="GET", status="1xx",
                   server="shop.example", location="/ws") == 3
    # ...but not in the latency histogram: a session's length is not a request's latency.
    assert e.get("nginx_http_request_duration_seconds_count", 0, server="shop.example",
                 location="/ws") == 0


def test_connection_counters_and_limit(nginx_factory, upstream):
    ng = start(nginx_factory, upstream, workers=2)
    accepted = "nginx_connections_accepted_total"
    # The harness's readiness probes may still be in accept queues: wait until only our
    # own scrapes add connections.
    state = {"last": scrape(ng, settle=False)}

    def settled():
        now = scrape(ng, settle=False)
        done = now.value(accepted) - state["last"].value(accepted) == 1
        state["last"] = now
        return done

    ph.wait_for(settled, message="connection counters settled")
    before = state["last"]
    for _ in range(5):
        ph.http_get(ng.url("http", "/static/app.css"))
    after = scrape(ng, settle=False)
    assert after.value(accepted) - before.value(accepted) == 6  # five requests and a scrape
    assert after.value("nginx_connections_handled_total") == after.value(accepted)
    assert after.value("nginx_connections", state="active") >= 1  # the scrape itself
    assert after.value("nginx_connections_limit") == 2 * 1024
    assert after.value("nginx_pulse_series_limit") == 4096
    version = subprocess.run([ph.NGINX_BIN, "-v"], capture_output=True, text=True).stderr
    version = version.strip().rsplit("/", 1)[1]  # "nginx version: nginx/1.22.1"
    assert after.value("nginx_pulse_info", version="0.1.0", nginx_version=version) == 1
    assert after.value("nginx_pulse_shm_bytes", state="used") > 0
    assert after.value("nginx_pulse_shm_bytes", state="free") > 0


def test_exporter_answers_head_and_refuses_post(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    status, headers, body = ph.http_get(ng.url("http", "/metrics"), method="HEAD")
    assert status == 200 and body == b"" and int(headers.first("content-length")) > 0
    assert ph.http_get(ng.url("http", "/metrics"), method="POST", data="x")[0] == 405


def test_keepalive_and_pipelined_requests_each_count(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    pipeline = b"".join(b"GET /named/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(20))
    pipeline += b"GET /named/last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    response = ph.raw_request("127.0.0.1", ng.port("http"), pipeline)
    assert response.count(b"HTTP/1.1 200") == 21
    # nginx may close its side first and log the last request after a lingering close.
    ph.wait_for(lambda: scrape(ng).value("nginx_http_requests_total", server="shop.example",
                                         location="checkout", method="GET", status="2xx") == 21,
                message="all 21 pipelined requests counted")
    assert scrape(ng).value("nginx_http_requests_total", server="shop.example",
                            location="checkout", method="GET", status="2xx") == 21
