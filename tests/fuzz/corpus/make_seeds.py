#!/usr/bin/env python3
"""Writes the checked-in seed corpora (tests/fuzz/corpus/<target>/): hand-made inputs and
test vectors of tests/testdata, with the hostile cases each target must survive. Run it
again after changing it; the fuzzers' growing corpora live in the build folder."""
import os
import shutil
from pathlib import Path

here = Path(__file__).resolve().parent
repo = here.parent.parent.parent


def write(target, seeds):
    d = here / target
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for name, data in seeds.items():
        (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def values(*vs):
    """exposition_input.h's encoding: each value ended by a backslash and one more byte."""
    return b"".join(v.replace(b"\\", b"\\\\") + b"\\ " for v in vs)


# exposition_writer: control byte (bit 7: OpenMetrics) and label values.
ew = {
    "plain": b"\x00" + values(b"0.1.0", b"1.22.1", b"example.com", b"= /metrics", b"GET", b"2xx"),
    "plain_om": b"\x80" + values(b"0.1.0", b"1.22.1", b"example.com", b"/", b"GET", b"200"),
    "escapes": b"\x01" + values(b'a"b', b"c\\d", b"e\nf", b'"\\\n', b"\\", b'"'),
    "escapes_om": b"\x81" + values(b'a"b', b"c\\d", b"e\nf", b'"\\\n', b"", b""),
    "empty_values": b"\x02" + values(b"", b"", b"", b"", b"", b""),
    "overlong": b"\x03" + values(b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xc1\xbf"),
    "surrogates": b"\x84" + values(b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5"),
    "truncated": b"\x05" + values(b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xe2\x82\xac\xe2"),
    "valid_utf8": b"\x86" + values("é€😀中文".encode(), "\u2028\u2029\ufeff".encode(), b"\x7f"),
    "nul_and_controls": b"\x07" + values(b"\x00", b"a\x00b", bytes(range(1, 32)), b"\r\t"),
    "percent": b"\x08" + values(b"%00", b"%2e%2e/%2f", b"../../etc/passwd", b"%ff%fe"),
    "long": b"\x09" + values(b"x" * 2000, b"\xff" * 300, b"\\" * 100, b'"' * 100),
    "many_series": b"\x0a" + values(*[b"s%d" % i for i in range(200)]),
    "same_after_sanitising": b"\x0b" + values(b"v", b"v", b"a\xff", b"a\xfe", b"a\xff", b"a\xfe") * 3,
}
for lo in range(0, 256, 32):  # every byte value, in every family position
    ew["bytes_%02x" % lo] = bytes([lo // 32 | (0x80 if lo & 32 else 0)]) + values(
        *[bytes([b]) for b in range(lo, lo + 32)])
ew["all_bytes_one_value"] = b"\x8c" + values(bytes(range(256)), bytes(range(255, -1, -1)))
write("exposition_writer", ew)

# cache_classifier: path, query, type, path, query, type, prefix, rule target, rule value.
def cc(*lines):
    return "\n".join(lines).encode() if all(isinstance(x, str) for x in lines) else b"\n".join(lines)

write("cache_classifier", {
    "hashed": cc("/static/app.3f2a9c1b.js", "", "application/javascript", "/main-3f2a9c1b5e.css", "", "text/css", "", "fingerprinted", "1y"),
    "vite": cc("/assets/index-BkS9ysgA.js", "", "", "/assets/index-BkS9ysgA.js.map", "", "", "", "static", "1d"),
    "query_hash": cc("/logo.png", "v=3f2a9c1b5e", "image/png", "/logo.png", "v=abc", "image/png", "", "image", "30d"),
    "documents": cc("/index.html", "", "text/html; charset=utf-8", "/robots.txt", "", "text/plain", "", "document", "no-cache"),
    "next_prefix": cc("/_next/static/chunks/x.js", "", "", "/_next/static/../secret", "", "", "/_next/static/", ".woff2", "off"),
    "dot_segments": cc("/_next/static/./a.js", "", "", "/_next/static/%2e%2e/a.js", "", "", "/_next/static/", ".js", "1h30m"),
    "backslash": cc("/_next/static/..\\a.js", "", "", "/_next/static/%5c", "", "", "/_next/static/", "script", "12h1d"),
    "no_extension": cc("/api/data", "", "application/json", "/image", "", "image/webp", "", "media", "2147483648"),
    "dotfiles": cc("/.htaccess", "", "", "/..", "", "", "", ".", "0"),
    "trailing_dot": cc("/a.", "", "", "/a/b.", "", "", "", ".wo ff", "7x"),
    "percent_00": cc("/a%00.js", "%00", "text/css%00", "/%00", "v=%00", "", "", "\x01\x7f", "1M"),
    "hostile_bytes": b"/\xff\xfe.j\x00s\n\x00\n\xc0\xaf\n/a.\x80\n\n\n\n.\xe9\n\xff",
    "long_name": cc("/" + "a" * 300 + ".3f2a9c1b.js", "v=" + "f" * 64, "text/css", "/" + "9" * 64 + ".css", "hash=" + "a1" * 40, "", "", "font", "1y1M1w1d1h1m1s"),
    "meteor": cc("/__cordova/0123456789abcdef0123456789abcdef01234567.js", "", "", "/__browser.legacy/abc.js", "", "", "", "style", "45s"),
    "huge_numbers": cc("/a.js", "v=99999999999999999999", "", "/b.css", "", "", "", "fingerprinted", "99999999999999999999999y"),
    "empty": b"",
})

# http_request: raw requests.
crlf = lambda s: s.replace("\n", "\r\n").encode()
write("http_request", {
    "get": crlf("GET /signals HTTP/1.1\nHost: 127.0.0.1:9145\nAccept: */*\n\n"),
    "adapter": crlf("GET /apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/%2A/nginx_requests_per_second?metricLabelSelector=server%3Dapi&labelSelector=app+%3D+web HTTP/1.1\nHost: x\nX-Remote-User: admin\nx-remote-user: other\nX-Remote-Group: system:masters\n\n"),
    "post_length": crlf("POST /x HTTP/1.1\nHost: a\nContent-Length: 5\n\n") + b"hello",
    "chunked": crlf("POST /x HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n"),
    "http10": crlf("GET / HTTP/1.0\n\n"),
    "head": crlf("HEAD /metrics HTTP/1.1\nHost: a\nConnection: close\n\n"),
    "percent": crlf("GET /a%00/../%2e%2e/%ff?%00=%zz&a=%41%42&a=2&+=+&=&&q HTTP/1.1\nHost: a\n\n"),
    "both_lengths": crlf("POST /x HTTP/1.1\nContent-Length: 3\nTransfer-Encoding: chunked\n\n0\n\n"),
    "two_lengths": crlf("POST /x HTTP/1.1\nContent-Length: 3\nContent-Length: 4\n\nabcd"),
    "huge_length": crlf("POST /x HTTP/1.1\nContent-Length: 99999999999999999999999\n\n"),
    "obs_fold": crlf("GET / HTTP/1.1\nX-A: a\n  b\n\n"),
    "bare_lf": b"GET / HTTP/1.1\nHost: a\n\n",
    "pipelined": crlf("GET /a HTTP/1.1\nHost: a\n\nGET /b HTTP/1.1\nHost: a\n\n"),
    "absolute_target": crlf("GET http://a/b?c HTTP/1.1\nHost: a\n\n"),
    "header_bytes": b"GET / HTTP/1.1\r\nX-\xff: \x80\x00\x01\r\nX-B:\t v \t\r\n\r\n",
    "long_target": crlf("GET /" + "a" * 9000 + " HTTP/1.1\n\n"),
})

# adapter_request: path, query, Accept, If-None-Match.
api = "/apis/custom.metrics.k8s.io"
write("adapter_request", {
    "group": f"{api}\n\n\n",
    "discovery_v1beta1": f"{api}/v1beta1/\n\n\n",
    "pods": f"{api}/v1beta2/namespaces/default/pods/%2A/nginx_requests_per_second\nmetricLabelSelector=server%3Dapi&labelSelector=app%3Dweb\n\n",
    "pod": f"{api}/v1beta1/namespaces/default/pods/web-0/nginx_requests_per_second\nmetricLabelSelector=server==api\n\n",
    "namespace": f"{api}/v1beta2/namespaces/default/metrics/nginx_requests_per_second\n\n\n",
    "object": f"{api}/v1beta2/namespaces/default/deployments.apps/web/pulse_jobs_waiting\nmetricLabelSelector=queue%3D%3Djobs,a=b\n\n",
    "object_star": f"{api}/v1beta2/namespaces/batch/statefulsets/*/pulse_jobs_waiting\n\n\n",
    "bad_selector": f"{api}/v1beta2/namespaces/default/pods/*/nginx_requests_per_second\nmetricLabelSelector=server!%3Dx\n\n",
    "dot_segments": f"{api}/v1beta2/namespaces/../pods/%2e%2e/nginx_requests_per_second\n\n\n",
    "percent_00": f"{api}/v1beta2/namespaces/%00/pods/%00/%00\nmetricLabelSelector=%00&labelSelector=%ff%00\n\n",
    "invalid_utf8": b"/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/\xff/\xc0\xaf%ff\nmetricLabelSelector=\xff\n\n",
    "double_slash": f"{api}//v1beta2\n\n\n",
    "openapi": "/openapi/v2\n\napplication/json\n\"x\"",
    "openapi_406": "/openapi/v2\n\napplication/yaml;q=1, application/json;q=0\n*",
    "openapi_huge_q": "/openapi/v2\n\napplication/json;q=99999999999999999999\nW/\"a\", \"b\"",
    "outside": "/healthz\n\n\n",
    "long_name": f"{api}/v1beta2/namespaces/{'a' * 70}/pods/{'b' * 300}/nginx_requests_per_second\n\n\n",
})

# http_url: URL, no_proxy, a proxy variable's value (lines).
write("http_url", {
    "plain": "http://127.0.0.1:8080/metrics\n\n",
    "https_default_port": "https://redis-exporter.shop.svc:443/metrics?name[]=x\nlocalhost\n",
    "ipv6": "http://[::1]:9121/metrics#frag\n::1\nhttp://proxy:3128",
    "user_password": "http://user:p%40ss@host/x\n*\nproxy.internal",
    "proxied": "http://10.0.0.7:9000/\n10.0.0.0/8,.svc\nhttp://u:p@proxy:3128/",
    "https_proxy_scheme": "https://host/\n\nsocks5://proxy:1080",
    "no_scheme": "host:80/x\n\n",
    "bad_port": "http://host:99999/\n\n",
    "empty_host": "http://:80/\n\n",
    "brackets": "http://[fe80::1%25eth0]:80/\n\n",
    "controls": "http://h\x00st/\r\n\x00\n\x7f",
    "long": "http://" + "a" * 300 + ".example/" + "b" * 600 + "\n" + ",".join(["x"] * 100) + "\n",
    "percent": "http://%68ost/%2e%2e/%00?%zz\n.\n%",
})

# promql: expressions.
write("promql", {
    "rate": 'sum by (pod) (rate(http_requests_total{job="web",code=~"5.."}[1m]))',
    "binary": 'a / on(pod) group_left b + 2 ^ -3 >= bool 1',
    "quantile": 'histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))',
    "label_replace": 'sum by (job) (label_replace(redis_key_size{key=~"queue:.+"}, "job", "$1", "key", "queue:(.+)"))',
    "strings": '"a\\"b\\\\c\\n\\x41\\u00e9\\U0001F600\\101" + \'x\' + `raw`',
    "numbers": '1e308 * 0x1F + .5 - Inf + NaN + 1_000 + 99999999999999999999999',
    "durations": 'rate(x[1y2w3d4h5m6s7ms]) + rate(x[0s]) + x offset 5m + x @ 1 + x[5m:1m]',
    "nested": "(" * 200 + "1" + ")" * 200,
    "unary": "-" * 300 + "1",
    "unterminated": 'sum(rate(x{a="',
    "matchers": '{__name__=~"x.*",a!="",b!~"(?i)a|b",c="\\xff"}',
    "without": 'max without (a, b,) (x) or count(x) unless avg(x)',
    "bad_bytes": b"x{a=\"\xff\xfe\"} + \xc0\xaf",
    "nul": b"x\x00{a=\"\x00\"}",
    "topk": "topk(3, x)",
})

# config: YAML files.
workers = (repo / "conf/kubernetes/workers/jobs/workers.yaml").read_bytes()
write("config", {
    "workers": workers,
    "minimal": "signals:\n  - name: pulse_x\n    expr: sum(up)\n",
    "sources": "sources:\n  - name: a\n    url: https://127.0.0.1:9/m\n    interval: 1s\n    timeout: 2s\n    tls_ca: /x\n    bearer_token_file: /y\n",
    "anchors": "a: &a {name: x, url: 'http://a'}\nsources: [*a, *a]\n",
    "deep": "signals: " + "[" * 300 + "]" * 300 + "\n",
    "tags": "sources: !!map {}\nsignals: !!binary aGVsbG8=\n",
    "bad_expr": "signals:\n  - name: pulse_x\n    expr: 'sum(rate(x[1m]'\n",
    "duplicate": "signals:\n  - {name: pulse_x, expr: '1'}\n  - {name: pulse_x, expr: '2'}\n",
    "unknown_key": "sourcez: []\n",
    "huge_numbers": "sources:\n  - name: a\n    url: http://a\n    interval: 99999999999999999999999s\n",
    "bytes": b"signals:\n  - name: \"\\xff\\x00\"\n    expr: \"\xff\"\n",
    "objects": "signals:\n  - name: pulse_x\n    expr: x\n    objects:\n      - {namespace: a, resource: deployments, name: b, match: {job: c}}\n      - {namespace: '', resource: '', name: '', match: [1]}\n",
    "not_a_map": "- 1\n- 2\n",
    "tabs": "sources:\n\t- name: a\n",
})

# parser: the OpenMetrics test vectors (as run.sh has always seeded it) are copied there.
print("seeds written under", here)
