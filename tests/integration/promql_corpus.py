"""Sample data and expressions for the PromQL differential test (test_promql_differential.py).

SERIES is a realistic 20-minute window of samples starting at T0_MS (a fixed instant, so
every run loads the same data): counters with resets, gauges, histogram families, series
that start late and series that stop (Prometheus then forgets them after its 5-minute
lookback), several jobs and instances, points every 15 s with a few irregular intervals.
It holds no staleness marker (OpenMetrics text cannot carry one): STALE_SERIES and
STALE_CASES check those on pulse's side only.

CORPUS is what both pulse's evaluator and Prometheus 2.42 answer: `Case(expr, kind, times)`,
kind "value" (Prometheus answers) or "error" (Prometheus refuses: parse, type and
evaluation errors), evaluated at every offset in `times` (milliseconds after T0_MS).
REJECTED lists what Prometheus accepts but pulse deliberately refuses, with where the error
should point.

Standard library only.
"""

import math

T0_MS = 1_700_000_000_000  # 2023-11-14T22:13:20Z
STEP_MS = 15_000
WINDOW_MS = 20 * 60_000
MIN = 60_000


# ---------------------------------------------------------------------------------------
# the sample data


def _grid(start=0, end=WINDOW_MS, step=STEP_MS):
    return list(range(start, end + 1, step))


# instance 10.0.0.2:8080 is scraped 3.25 s after the others, misses two scrapes in a row
# at 5m and 5m15s, and is scraped once more, 5 s after the one at 7m30s; its last scrape
# is at 19m48.25s
IRREGULAR = sorted(
    [3_250 + STEP_MS * i for i in range(80) if i not in (20, 21)] + [3_250 + STEP_MS * 30 + 5_000])


def _counter(times, increment, start=0.0, resets=None):
    """Cumulative values at times; increment(i) is added before point i (i > 0);
    resets {index: value} restarts the counter at that point."""
    points, value = [], float(start)
    for i, t in enumerate(times):
        if resets and i in resets:
            value = float(resets[i])
        elif i > 0:
            value += increment(i)
        points.append([t, value])
    return points


def _gauge(times, value):
    return [[t, value(i)] for i, t in enumerate(times)]


def _series(labels, points):
    return {"labels": labels, "points": [[T0_MS + t, v] for t, v in points]}


API1 = {"job": "api", "instance": "10.0.0.1:8080"}
API2 = {"job": "api", "instance": "10.0.0.2:8080"}
WEB3 = {"job": "web", "instance": "10.0.0.3:80"}

REQUEST_BUCKETS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"]
# instance 2 spells two bounds differently: sum by (le) then holds both "1" and "1.0"
REQUEST_BUCKETS_2 = ["0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "+Inf"]
# observations per scrape falling into each bucket (not cumulative), by scrape index
_BUCKET_SHARE = [4, 3, 5, 2, 1, 1, 0, 1]


def _histogram(name, base_labels, times, bounds, grow, resets=()):
    """Series of a classic histogram: cumulative _bucket counts, _count and _sum."""
    out = []
    per_bucket = [[] for _ in bounds]
    sums = []
    cumulative = [0.0] * len(bounds)
    total_sum = 0.0
    for i, t in enumerate(times):
        if i in resets:
            cumulative = [0.0] * len(bounds)
            total_sum = 0.0
        elif i > 0:
            new = [grow(i, b) for b in range(len(bounds))]
            running = 0.0
            for b in range(len(bounds)):
                running += new[b]
                cumulative[b] += running
            total_sum += sum(w * n for w, n in zip((0.03, 0.08, 0.2, 0.4, 0.75, 2, 4, 9), new))
        for b in range(len(bounds)):
            per_bucket[b].append([t, cumulative[b]])
        sums.append([t, total_sum])
    for b, le in enumerate(bounds):
        out.append(_series({"__name__": name + "_bucket", **base_labels, "le": le}, per_bucket[b]))
    out.append(_series({"__name__": name + "_count", **base_labels},
                       [[t, per_bucket[-1][i][1]] for i, t in enumerate(times)]))
    out.append(_series({"__name__": name + "_sum", **base_labels}, sums))
    return out


def _build_series():
    g = _grid()
    web_grid = _grid(7_000, WINDOW_MS)  # web is scraped 7 s after the others
    s = []

    # -- counters
    s.append(_series({"__name__": "http_requests_total", **API1, "code": "200"},
                     _counter(g, lambda i: 3 + (i * 7) % 11, start=1000)))
    # the process restarts at 9m: the counter starts again from 0
    s.append(_series({"__name__": "http_requests_total", **API1, "code": "500"},
                     _counter(g, lambda i: 1 if i % 4 == 0 else (1 if i > 36 and i % 3 == 0 else 0),
                              start=5, resets={36: 0})))
    s.append(_series({"__name__": "http_errors_total", **API1, "code": "500"},
                     _counter(g, lambda i: 1 if i % 5 == 0 else 0, start=2)))
    s.append(_series({"__name__": "http_requests_total", **API2, "code": "200"},
                     _counter(IRREGULAR, lambda i: 0.5 * (i % 5), start=250)))
    # appears at 6m03.25s already at 7 (extrapolation towards zero is limited)
    late = [t for t in IRREGULAR if t >= 6 * MIN]
    s.append(_series({"__name__": "http_requests_total", **API2, "code": "500"},
                     _counter(late, lambda i: 2 if i % 2 else 0, start=7)))
    # resets twice, once to a non-zero value
    s.append(_series({"__name__": "http_requests_total", **WEB3, "code": "200"},
                     _counter(web_grid, lambda i: 10 + i % 3, start=40, resets={25: 4, 60: 0})))
    # stops at 12m: Prometheus still returns it until 17m (its 5-minute lookback)
    s.append(_series({"__name__": "http_requests_total", **WEB3, "code": "404"},
                     _counter(_grid(0, 12 * MIN), lambda i: i % 2, start=3)))
    s.append(_series({"__name__": "http_requests_total", **WEB3, "code": "503"},
                     _counter(g, lambda i: 0, start=42)))
    s.append(_series({"__name__": "cpu_seconds_total", **API1},
                     _counter(g, lambda i: 0.37 * (1 + i % 3), start=1234.5)))
    s.append(_series({"__name__": "cpu_seconds_total", **API2},
                     _counter(IRREGULAR, lambda i: 0.11 * (i % 7) + 0.013, start=88.25)))

    # -- gauges
    s.append(_series({"__name__": "queue_jobs", "job": "emails"},
                     _gauge(g, lambda i: (i * 5) % 13)))
    # stops at 8m (gone from 13m on)
    s.append(_series({"__name__": "queue_jobs", "job": "thumbnails"},
                     _gauge(_grid(0, 8 * MIN), lambda i: 3 + i % 4)))
    # starts at 12m
    s.append(_series({"__name__": "queue_jobs", "job": "reports"},
                     _gauge(_grid(12 * MIN, WINDOW_MS), lambda i: 20 - i % 6)))
    # same labels as queue_jobs{job="emails"} once the name is dropped
    s.append(_series({"__name__": "queue_depth", "job": "emails"},
                     _gauge(g, lambda i: (i % 7) * 1.5)))
    s.append(_series({"__name__": "up", **API1}, _gauge(g, lambda i: 1)))
    s.append(_series({"__name__": "up", **API2},
                     _gauge(IRREGULAR, lambda i: 0 if 6 * MIN <= IRREGULAR[i] < 7 * MIN else 1)))
    s.append(_series({"__name__": "up", **WEB3}, _gauge(web_grid, lambda i: 1)))

    redis = {"instance": "redis-1:6379"}
    keys = {
        "user:1001": lambda i: 512 + 8 * i,
        "user:1002": lambda i: 2048,
        "session:abc": lambda i: 1.5e9 + 1e6 * i,
        "cache:home": lambda i: 0.25 * i,
        "a.b": lambda i: 7,
        "axb": lambda i: 9,
        'quote"d': lambda i: 1,
        "C:\\tmp": lambda i: 2,
        "caf\u00e9": lambda i: 3,
    }
    for key, value in keys.items():
        times = _grid(0, 15 * MIN) if key == "user:1002" else g  # user:1002 expires at 15m
        s.append(_series({"__name__": "redis_key_size", **redis, "key": key}, _gauge(times, value)))

    s.append(_series({"__name__": "node_temperature_celsius", "node": "n1"},
                     _gauge(g, lambda i: 21.5 + 0.25 * (i % 8))))
    s.append(_series({"__name__": "node_temperature_celsius", "node": "n2"},
                     _gauge(g, lambda i: "NaN" if i in (10, 40) else -3.75 + 0.5 * (i % 5))))
    s.append(_series({"__name__": "node_temperature_celsius", "node": "n3"},
                     _gauge(g, lambda i: "+Inf" if i == 20 else "-Inf" if i == 60 else 30.125)))

    # -- histograms
    s += _histogram("request_duration_seconds", API1, g, REQUEST_BUCKETS,
                    lambda i, b: _BUCKET_SHARE[b] * (1 + i % 3), resets=(36,))
    s += _histogram("request_duration_seconds", API2, IRREGULAR, REQUEST_BUCKETS_2,
                    lambda i, b: _BUCKET_SHARE[(b + i) % len(_BUCKET_SHARE)])
    # no +Inf bucket: histogram_quantile answers NaN
    s += _histogram("legacy_latency_seconds", {"job": "legacy"}, g, ["0.5", "1", "2"],
                    lambda i, b: 1 + b)
    # never observes anything
    s += _histogram("idle_latency_seconds", {"job": "idle"}, g, ["0.1", "1", "+Inf"],
                    lambda i, b: 0)
    # only the +Inf bucket
    s += _histogram("single_bucket_seconds", {"job": "single"}, g, ["+Inf"], lambda i, b: 2)
    # a negative first bound, a count that goes down with le, an unparsable le
    odd = {"-1": 2, "0.5": 10, "1": 7, "bogus": 99, "+Inf": 12}
    for le, count in odd.items():
        s.append(_series({"__name__": "odd_latency_seconds_bucket", "job": "odd", "le": le},
                         _gauge(g, lambda i, c=count: c + (i // 10) * (3 if le == "+Inf" else 1))))

    # sorted as Prometheus sorts series (by their sorted label pairs), so both sides add up
    # vectors in the same order
    s.sort(key=lambda x: sorted(x["labels"].items()))
    return s


SERIES = _build_series()


def om_family(name):
    """(family name, OpenMetrics type) of a metric name in SERIES."""
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix) and name[: -len(suffix)].endswith(("_seconds",)):
            return name[: -len(suffix)], "histogram"
    if name.endswith("_total"):
        return name[: -len("_total")], "counter"
    return name, "gauge"


# ---------------------------------------------------------------------------------------
# evaluation times (milliseconds after T0_MS)

BEFORE = -MIN                # before any sample
ALL_TIMES = [
    BEFORE,
    0,                       # the first samples, exactly
    MIN,                     # ranges only partly covered
    5 * MIN,                 # a 5m range starts exactly on the first samples (2.42: included)
    8 * MIN + 7_500,         # between scrapes; thumbnails' last sample was at 8m
    9 * MIN,                 # the counter reset on 10.0.0.1
    10 * MIN,
    12 * MIN + 7_250,        # odd milliseconds; reports started at 12m
    13 * MIN,                # exactly 5m after thumbnails stopped (2.42: still returned)
    13 * MIN + 1,            # and 1 ms later (gone)
    17 * MIN,                # exactly 5m after code="404" stopped
    WINDOW_MS,               # the last samples
    22 * MIN,                # past the end, within the lookback
    WINDOW_MS + 5 * MIN,     # exactly 5m after the last samples
    WINDOW_MS + 5 * MIN + 1,  # beyond the lookback for everything
]
ONE_TIME = [10 * MIN]
SOME_TIMES = [0, 5 * MIN, 9 * MIN, 13 * MIN, WINDOW_MS]


class Case:
    def __init__(self, expr, kind="value", times=None):
        if kind not in ("value", "error"):
            raise ValueError(kind)
        self.expr = expr
        self.kind = kind
        if times is None:
            times = ALL_TIMES if kind == "value" else ONE_TIME
        self.times = list(times)

    def __repr__(self):
        return f"Case({self.expr!r}, {self.kind!r})"


def _values(*exprs, times=None):
    return [Case(e, "value", times) for e in exprs]


def _errors(*exprs, times=None):
    return [Case(e, "error", times) for e in exprs]


HQ = "request_duration_seconds_bucket"

CORPUS = (
    # -- instant selectors, every matcher
    _values(
        'http_requests_total',
        'http_requests_total{job="api"}',
        'http_requests_total{job!="api"}',
        'http_requests_total{code=~"5.."}',
        'http_requests_total{code!~"2..|3.."}',
        'http_requests_total{job="api",code="200",}',
        'http_requests_total{instance=~"10\\\\.0\\\\.0\\\\.1:.*"}',
        '{__name__="queue_jobs"}',
        '{__name__=~"queue_.*"}',
        '{__name__=~"queue_(jobs|depth)", job="emails"}',
        '{job="emails"}',
        'queue_jobs{job=~"e.*|t.*"}',
        'queue_jobs{job=~"(?i)EMAILS"}',
        'queue_jobs{job=~".+"}',
        'queue_jobs{}',
        'queue_jobs{job="thumbnails"}',
        'redis_key_size{key=~"user:\\\\d+"}',
        'redis_key_size{key=~"a.b"}',
        'redis_key_size{key="a.b"}',
        'redis_key_size{key!~"user:.*"}',
        'redis_key_size{key=~"user"}',
        'redis_key_size{key=~"|user:1001"}',
        'redis_key_size{nonexistent=""}',
        'redis_key_size{nonexistent!=""}',
        'redis_key_size{key="quote\\"d"}',
        'redis_key_size{key="C:\\\\tmp"}',
        "redis_key_size{key='user:1001'}",
        'redis_key_size{key=~`user:\\d+`}',
        'redis_key_size{key="caf\u00e9"}',
        'redis_key_size{key="caf\\u00e9"}',
        'redis_key_size{key=~"[[:alpha:]]+:\\\\w+"}',
        # regular expressions run as Go's regexp: `.` is one UTF-8 character ("café" is 5
        # bytes), classes, escapes and flags as RE2 spells them
        'redis_key_size{key=~"caf."}',
        'redis_key_size{key=~"caf.."}',
        'redis_key_size{key=~"...."}',
        'redis_key_size{key=~"caf[é]"}',
        'redis_key_size{key=~"caf[à-ÿ]"}',
        'redis_key_size{key=~"caf[^e]"}',
        'redis_key_size{key=~`caf\\x{e9}`}',
        'redis_key_size{key=~"(?i)CAFÉ"}',
        'redis_key_size{key=~`\\pL+`}',
        'redis_key_size{key=~`\\p{Latin}+:?\\pN*`}',
        'redis_key_size{key=~"[a-z]+:[a-z0-9]+"}',
        'redis_key_size{key=~"[^:]+"}',
        'redis_key_size{key=~"[[:alpha:]]+[[:^alpha:]][[:alpha:]]+"}',
        'redis_key_size{key!~`\\w+:\\w+`}',
        'redis_key_size{key=~`user:\\d{4}`}',
        'redis_key_size{key=~`user:\\D+|\\w+:\\d*1`}',
        'redis_key_size{key=~`a\\.b|C:\\\\tmp`}',
        'redis_key_size{key=~`\\Qa.b\\E`}',
        'redis_key_size{key=~"(?i)(user|SESSION):.+"}',
        'redis_key_size{key=~"(?i:USER):100(1|2)"}',
        'queue_jobs{job=~"emails|reports"}',
        'queue_jobs{job=~"(?:e|r)[a-z]{5,6}"}',
        'http_requests_total{code=~`[45]\\d\\d`}',
        'http_requests_total{code=~`2\\d{2}|5\\d+`, instance=~`10\\.0\\.0\\.[12]:\\d+`}',
        'up',
        'up == 0',
        'node_temperature_celsius',
        'nonexistent_metric',
    )
    # -- range functions
    + _values(
        'rate(http_requests_total[5m])',
        'rate(http_requests_total[1m])',
        'rate(http_requests_total[90s])',
        'rate(http_requests_total[1m30s])',
        'rate(http_requests_total[15s])',
        'rate(http_requests_total[10m])',
        'rate(http_requests_total[1h])',
        'rate(cpu_seconds_total[5m])',
        'rate(queue_jobs[5m])',
        'irate(http_requests_total[5m])',
        'irate(http_requests_total[30s])',
        'irate(cpu_seconds_total[1m])',
        # the same series under other selectors, after the lines above at the same time:
        # promql_eval shares range values per time, as the sidecar does across its signals
        'rate(http_requests_total{code="200"}[5m])',
        'sum by (job) (rate(http_requests_total{code=~"5.."}[1m])) / on(job) '
        'sum by (job) (rate(http_requests_total[1m]))',
        'irate({__name__=~"http_requests_total|cpu_seconds_total"}[5m])',
        'max_over_time(http_requests_total[5m])',
        'max_over_time(http_requests_total{job="api"}[5m])',
        'increase(http_requests_total[5m])',
        'increase(http_requests_total{code="500"}[2m])',
        'increase(cpu_seconds_total[3m])',
        'delta(queue_jobs[5m])',
        'delta(node_temperature_celsius[3m])',
        'delta(http_requests_total[5m])',
        'avg_over_time(queue_jobs[5m])',
        'avg_over_time(cpu_seconds_total[2m])',
        'avg_over_time(node_temperature_celsius[2m])',
        'avg_over_time(redis_key_size[1m])',
        'max_over_time(queue_jobs[5m])',
        'max_over_time(node_temperature_celsius[5m])',
        'min_over_time(queue_jobs[5m])',
        'min_over_time(node_temperature_celsius[5m])',
        'last_over_time(queue_jobs[10m])',
        'last_over_time(http_requests_total{code="404"}[1m])',
        'rate(http_requests_total[1d])',
        'max_over_time(queue_jobs[500ms])',
        'rate(node_temperature_celsius[5m])',
        'irate(node_temperature_celsius[1m])',
        'rate(http_requests_total[5m]) * 60',
        'rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])',
    )
    # NaN first or last in the window; +Inf and -Inf in one window
    + _values(
        'max_over_time(node_temperature_celsius[1m])',
        'min_over_time(node_temperature_celsius[1m])',
        'avg_over_time(node_temperature_celsius[1m])',
        times=[2 * MIN + 30_000, 3 * MIN + 30_000, 10 * MIN, 11 * MIN],
    )
    + _values(
        'avg_over_time(node_temperature_celsius{node="n3"}[11m])',
        'max_over_time(node_temperature_celsius{node="n3"}[11m])',
        times=[5 * MIN, 15 * MIN, 16 * MIN, WINDOW_MS],
    )
    # -- histogram_quantile
    + _values(
        f'histogram_quantile(0.9, rate({HQ}[5m]))',
        f'histogram_quantile(0.5, sum by (le) (rate({HQ}[5m])))',
        f'histogram_quantile(0.99, sum by (job, le) (rate({HQ}[5m])))',
        f'histogram_quantile(0, sum by (le) (rate({HQ}[5m])))',
        f'histogram_quantile(1, sum by (le) (rate({HQ}[5m])))',
        f'histogram_quantile(-0.5, rate({HQ}[5m]))',
        f'histogram_quantile(1.5, rate({HQ}[5m]))',
        f'histogram_quantile(NaN, rate({HQ}[5m]))',
        f'histogram_quantile(0.999, sum without (instance) (rate({HQ}[5m])))',
        f'histogram_quantile(0.5, {HQ})',
        f'histogram_quantile(0.9, sum by (le) ({HQ}{{instance="10.0.0.1:8080"}}))',
        f'histogram_quantile(0.5, increase({HQ}[10m]))',
        f'histogram_quantile(0.95, sum by (le) (rate({HQ}{{le=~"1|1.0|\\\\+Inf"}}[5m])))',
        f'histogram_quantile(scalar(up{{instance="10.0.0.1:8080"}}) * 0.5, rate({HQ}[5m]))',
        f'histogram_quantile(0.5, sum by (le) (rate({HQ}[5m]))) * 1000',
        'histogram_quantile(0.5, legacy_latency_seconds_bucket)',
        'histogram_quantile(0.5, rate(idle_latency_seconds_bucket[5m]))',
        'histogram_quantile(0.5, idle_latency_seconds_bucket)',
        'histogram_quantile(0.75, odd_latency_seconds_bucket)',
        'histogram_quantile(0.1, odd_latency_seconds_bucket)',
        'histogram_quantile(0.5, single_bucket_seconds_bucket)',
        'histogram_quantile(0.5, rate(odd_latency_seconds_bucket[5m]))',
        'histogram_quantile(0.5, queue_jobs)',
        'histogram_quantile(0.5, {__name__=~"request_duration_seconds_bucket|odd_latency_seconds_bucket"})',
    )
    # -- aggregations
    + _values(
        'sum(http_requests_total)',
        'sum by (job) (http_requests_total)',
        'sum(http_requests_total) by (job)',
        'sum without (instance, code) (http_requests_total)',
        'sum by (job, code) (rate(http_requests_total[5m]))',
        'avg by (job) (rate(http_requests_total[5m]))',
        'avg(rate(cpu_seconds_total[1m]))',
        'max by (code) (http_requests_total)',
        'min without (code) (http_requests_total)',
        'count(http_requests_total)',
        'count by (job) (queue_jobs)',
        'count without () (queue_jobs)',
        'sum by () (queue_jobs)',
        'sum by (nonexistent) (queue_jobs)',
        'sum by (__name__) ({__name__=~"queue_.*"})',
        'max(node_temperature_celsius)',
        'min(node_temperature_celsius)',
        'avg(node_temperature_celsius)',
        'sum(node_temperature_celsius)',
        'count(node_temperature_celsius)',
        'avg(redis_key_size)',
        'sum(redis_key_size)',
        'count by (le) (request_duration_seconds_bucket)',
        'avg without (key) (redis_key_size)',
        f'sum without (le) ({HQ})',
        'sum(sum by (job) (queue_jobs))',
        'sum(vector(1))',
        'count(nonexistent_metric)',
        'max by (job) (up)',
        'sum by (job) (up == 1)',
        'count by (code) (rate(http_requests_total[5m]) > 0)',
        'SUM BY (job) (queue_jobs)',
        'avg(queue_jobs) without (job)',
        'count(count by (job) (http_requests_total))',
        'avg by (key) (avg_over_time(redis_key_size[5m]))',
    )
    # -- label_replace
    + _values(
        'label_replace(queue_jobs, "queue", "$1", "job", "(.*)")',
        'label_replace(queue_jobs, "queue", "q-$1", "job", "e(.*)")',
        'label_replace(redis_key_size, "prefix", "$1", "key", "([a-z]+):.*")',
        'label_replace(queue_jobs, "job", "", "job", "emails")',
        'label_replace(queue_jobs, "__name__", "renamed_jobs", "", "")',
        'label_replace(http_requests_total, "host", "$1", "instance", "([^:]+):.*")',
        'label_replace(queue_jobs, "x", "${1}_y", "job", "(.*)")',
        'label_replace(queue_jobs, "x", "$2", "job", "(.*)")',
        'label_replace(queue_jobs, "x", "$name", "job", "(?P<name>.*)")',
        'label_replace(queue_jobs, "x", "$$1", "job", "(.*)")',
        'label_replace(vector(1), "a", "b", "c", "")',
        'label_replace(redis_key_size{key="caf\u00e9"}, "k", "$1", "key", "(.)af.")',
        'label_replace(redis_key_size, "k", "$1", "key", "caf(.)")',
        'label_replace(redis_key_size, "kind", "${kind}-$id", "key", "(?P<kind>[a-z]+):(?P<id>\\\\w+)")',
        'label_replace(redis_key_size, "x", "$n", "key", "(?P<n>user):.*|(?P<n>[a-z]+):.*")',
        'label_replace(redis_key_size, "x", "[$1]", "key", "(?i)([A-Z]+)(?::.*)?")',
        'label_replace(redis_key_size, "x", "$1|$2", "key", "(\\\\pL+)(\\\\W.*)?")',
        'label_replace(queue_jobs, "x", "$0", "job", "e)|(s")',
        'sum by (host) (label_replace(rate(http_requests_total[5m]), "host", "$1", "instance", "(.*):.*"))',
    )
    # -- vector/scalar arithmetic and comparisons
    + _values(
        'queue_jobs * 2',
        'queue_jobs + 0.5',
        'queue_jobs - 10',
        'queue_jobs / 0',
        'queue_jobs % 3',
        'node_temperature_celsius % 2.5',
        'queue_jobs ^ 2',
        '2 * queue_jobs',
        '100 / queue_jobs',
        '1 - queue_jobs',
        'queue_jobs > 5',
        'queue_jobs >= 7',
        'queue_jobs == 0',
        'queue_jobs != 0',
        'queue_jobs < 3',
        'queue_jobs <= 3',
        'queue_jobs > bool 5',
        'queue_jobs == bool 0',
        '5 < queue_jobs',
        '5 < bool queue_jobs',
        '3 >= queue_jobs',
        'node_temperature_celsius > 0',
        'node_temperature_celsius != 0',
        'node_temperature_celsius == bool 30.125',
        'node_temperature_celsius >= node_temperature_celsius',
        'vector(1) > bool 0',
        '(queue_jobs > 2) + 1',
        'queue_jobs > 2 < 9',
        'sum(queue_jobs) > 10',
        'sum(queue_jobs) > bool 10',
        'sum(rate(http_requests_total[5m])) * 60 > 10',
        '1 + queue_jobs * 2 - 3 / 4',
    )
    # -- vector/vector matching
    + _values(
        'http_requests_total{code="500"} / ignoring(code) http_requests_total{code="200"}',
        'rate(http_requests_total{code="500"}[5m]) / on(job, instance) rate(http_requests_total{code="200"}[5m])',
        'queue_jobs + queue_depth',
        'queue_jobs - queue_jobs',
        'queue_jobs > queue_depth',
        'queue_jobs > bool queue_depth',
        'queue_jobs >= on(job) queue_depth',
        'queue_jobs + on(job) queue_depth',
        'queue_jobs{job="emails"} + on() vector(1)',
        'http_requests_total{code="200"} > ignoring(code) http_requests_total{code="500"}',
        'http_requests_total{code="200"} < bool ignoring(code) http_requests_total{code="500"}',
        'node_temperature_celsius - node_temperature_celsius',
        'sum by (job) (rate(http_requests_total[5m])) / on(job) sum by (job) (rate(http_requests_total[1m]))',
        'sum by (job, instance) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (job, instance) (rate(http_requests_total[5m]))',
        '(sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (job) (rate(http_requests_total[5m]))) * 100',
        'max by (job) (rate(http_requests_total[5m])) > bool on(job) avg by (job) (rate(http_requests_total[5m]))',
        'vector(1) + vector(2)',
        'up{job="api"} * on(instance) cpu_seconds_total',
    )
    # -- unary minus, precedence
    + _values(
        '-queue_jobs',
        '+queue_jobs',
        '-queue_jobs * 2',
        '- queue_jobs ^ 2',
        '2 - -queue_jobs',
        '-(queue_jobs)',
        '-sum(queue_jobs)',
        '-rate(http_requests_total[5m])',
    )
    # -- clamp_min/clamp_max, scalar(), vector()
    + _values(
        'clamp_min(queue_jobs, 3)',
        'clamp_max(queue_jobs, 3)',
        'clamp_min(node_temperature_celsius, 0)',
        'clamp_max(node_temperature_celsius, NaN)',
        'clamp_min(queue_jobs, -Inf)',
        'clamp_max(clamp_min(queue_jobs, 2), 6)',
        'clamp_min(rate(http_requests_total[5m]), 0.5)',
        'clamp_min(queue_jobs, scalar(queue_jobs{job="emails"}))',
        'scalar(sum(queue_jobs)) * 2',
        'scalar(queue_jobs)',
        'scalar(queue_jobs{job="emails"})',
        'scalar(nonexistent_metric)',
        'scalar(node_temperature_celsius{node="n2"})',
        'vector(scalar(queue_jobs{job="emails"}))',
        'vector(1)',
        'vector(-Inf)',
        'queue_jobs * scalar(up{instance="10.0.0.1:8080"})',
        'scalar(vector(3)) + 1',
        'sum  by(job)(queue_jobs)',
        'sum(queue_jobs) # a comment',
        'sum\tby (job)\t(queue_jobs)',
        '((((queue_jobs))))',
    )
    # -- scalars only: arithmetic, precedence, literals, and the value formatting
    + _values(
        '1 + 2',
        '2 * 3 + 4',
        '2 + 3 * 4',
        '(2 + 3) * 4',
        '2 ^ 3 ^ 2',
        '-2 ^ 2',
        '(-2) ^ 2',
        '10 % 3',
        '-10 % 3',
        '5.5 % 2',
        '1 / 0',
        '-1 / 0',
        '0 / 0',
        '1 > bool 2',
        '2 >= bool 2',
        'NaN == bool NaN',
        'Inf - Inf',
        '1e308 * 10',
        '0.1 + 0.2',
        '1 / 3',
        '2 ^ 0.5',
        '2 ^ -1',
        '- -1',
        '+1',
        '1 - -1',
        '0x1F + 1',
        '1e3',
        '.5 + 5.',
        '1e21',
        '1e-7',
        '123456789012345678901234567890',
        '5e-324',
        '1.7976931348623157e308',
        '2 ^ 70',
        '1 / 7',
        '100000000000000000000 + 1',
        '-0.0000123',
        '0 * -1',
        'Inf',
        '-Inf',
        'NaN',
        times=ONE_TIME,
    )
    # -- errors Prometheus reports too: parse errors
    + _errors(
        '',
        'sum(',
        'rate(http_requests_total[5m]',
        'queue_jobs{job="emails"',
        'queue_jobs{job=~"("}',
        '1 +',
        ')',
        'queue_jobs[5x]',
        '{job=~".*"}',
        '{}',
        '1 > 2',
        '"unterminated',
        "'unterminated",
        'queue_jobs{job="a"}{job="b"}',
        'queue_jobs + bool 1',
        'sum(queue_jobs) by',
        'foo_bar_fn(queue_jobs)',
        'sum by (job queue_jobs',
        'queue_jobs{job=emails}',
        'queue_jobs{1job="a"}',
        'queue_jobs ==',
        '*queue_jobs',
        'queue_jobs[]',
        '1 + * 2',
        'rate()',
        'clamp_min(queue_jobs,)',
        'queue_jobs{job="emails"}}',
        'queue_jobs job',
        'queue_jobs{job="\\q"}',
        '(queue_jobs',
        'queue_jobs)',
        '1 == bool',
        'queue_jobs @',
    )
    # -- type errors
    + _errors(
        'rate(queue_jobs)',
        'sum(queue_jobs[5m])',
        f'histogram_quantile(0.9, {HQ}[5m])',
        'scalar("a")',
        'vector(queue_jobs)',
        'queue_jobs[5m] + 1',
        'clamp_min(queue_jobs)',
        'rate(queue_jobs[5m], 1)',
        'label_replace(queue_jobs, "a", "b", "c")',
        '-"a"',
        '"a" + 1',
        'sum("a")',
        'histogram_quantile("x", queue_jobs)',
        'label_replace(queue_jobs, 1, "b", "c", "d")',
        'rate(1)',
        'queue_jobs[5m][5m]',
        'clamp_max(1, 2)',
        'increase(rate(http_requests_total[5m]))',
    )
    # -- errors found while evaluating (times with data on both sides)
    + _errors(
        'http_requests_total + on(job) http_requests_total',
        'http_requests_total / on(job) sum by (job) (http_requests_total)',
        'sum by (job) (http_requests_total) / on(job) http_requests_total',
        'queue_jobs + on(nonexistent) queue_jobs',
        'queue_jobs{job="emails"} / on() queue_jobs',
        'rate({__name__=~"http_(requests|errors)_total", code="500"}[5m])',
        '{__name__=~"queue_jobs|queue_depth"} * 2',
        '-{__name__=~"queue_jobs|queue_depth"}',
        'clamp_min({__name__=~"queue_jobs|queue_depth"}, 0)',
        'label_replace(queue_jobs, "job", "same", "job", ".*")',
        'label_replace(queue_jobs, "1bad", "x", "job", ".*")',
        'label_replace(queue_jobs, "dst", "$1", "job", "(")',
        times=[5 * MIN, 10 * MIN],
    )
)


# ---------------------------------------------------------------------------------------
# accepted by Prometheus, refused by pulse on purpose


class Rejected:
    """`expr` must fail in pulse with "not supported" and a position: that of one of the
    substrings in `at` (the construct pulse refuses)."""

    def __init__(self, expr, *at):
        self.expr = expr
        self.at = at or (expr,)

    def positions(self):
        found = set()
        for s in self.at:
            start = self.expr.find(s)
            while start >= 0:
                found.add(start)
                start = self.expr.find(s, start + 1)
        return sorted(found)

    def __repr__(self):
        return f"Rejected({self.expr!r})"


REJECTED = [
    # aggregations outside sum/avg/max/min/count
    Rejected('topk(2, queue_jobs)'),
    Rejected('bottomk(1, queue_jobs)'),
    Rejected('quantile(0.5, queue_jobs)'),
    Rejected('stddev(queue_jobs)'),
    Rejected('stdvar(queue_jobs)'),
    Rejected('count_values("value", queue_jobs)'),
    Rejected('group(queue_jobs)'),
    # modifiers
    Rejected('queue_jobs offset 5m', 'offset'),
    Rejected('rate(http_requests_total[5m] offset 1m)', 'offset'),
    Rejected('queue_jobs @ 1700000300', '@'),
    Rejected('queue_jobs @ end()', '@'),
    # subqueries
    Rejected('max_over_time(rate(http_requests_total[1m])[5m:1m])', '[5m:1m]', ':1m]', 'rate('),
    Rejected('max_over_time(queue_jobs[5m:])', '[5m:]', ':]', 'queue_jobs['),
    # many-to-one matching
    Rejected('http_requests_total / on(job, instance) group_left sum by (job, instance) (http_requests_total)',
             'group_left'),
    Rejected('sum by (job, instance) (http_requests_total) / on(job, instance) group_right http_requests_total',
             'group_right'),
    # set operators
    Rejected('queue_jobs and queue_jobs > 3', 'and'),
    Rejected('queue_jobs or queue_depth', 'or'),
    Rejected('queue_jobs unless queue_jobs > 3', 'unless'),
    Rejected('queue_jobs and on(job) queue_depth', 'and'),
    Rejected('queue_jobs atan2 2', 'atan2'),
    # a range vector is not an instant value
    Rejected('queue_jobs[5m]'),
    Rejected('http_requests_total{code="200"}[1m]'),
    # functions outside pulse's table
    Rejected('abs(queue_jobs)'),
    Rejected('time()'),
    Rejected('absent(nonexistent_metric)'),
    Rejected('predict_linear(queue_jobs[5m], 60)'),
    Rejected('count_over_time(queue_jobs[5m])'),
    Rejected('sum_over_time(queue_jobs[5m])'),
    Rejected('quantile_over_time(0.5, queue_jobs[5m])'),
    Rejected('stddev_over_time(queue_jobs[5m])'),
    Rejected('label_join(queue_jobs, "x", "-", "job")'),
    Rejected('sort(queue_jobs)'),
    Rejected('sort_desc(queue_jobs)'),
    Rejected('round(queue_jobs)'),
    Rejected('changes(queue_jobs[5m])'),
    Rejected('resets(http_requests_total[5m])'),
    Rejected('deriv(queue_jobs[5m])'),
    Rejected('idelta(queue_jobs[5m])'),
    Rejected('timestamp(queue_jobs)'),
    Rejected('holt_winters(queue_jobs[5m], 0.5, 0.5)'),
    Rejected('minute()'),
    Rejected('sgn(queue_jobs)'),
    # a pattern Go's regexp takes and RE2, which runs pulse's regular expressions, finds too
    # large for the memory it may use per pattern (\pL is one instruction for Go, hundreds
    # of UTF-8 byte ranges for RE2)
    Rejected('redis_key_size{key=~`(?:\\pL\\pL\\pL\\pL\\pL){1000}`}', 'key=~'),
]
REJECTED_TIME = 10 * MIN


# ---------------------------------------------------------------------------------------
# staleness markers: pulse only (Prometheus writes them itself; OpenMetrics cannot)

S = 1_000


def _stale_series():
    a = [[i * STEP_MS, float(i)] for i in range(9)]            # 0..8, 0s..2m
    a.append([2 * MIN + 15 * S, "stale"])                      # gone at 2m15s
    a += [[4 * MIN, 100.0], [4 * MIN + 15 * S, 115.0]]         # back at 4m
    b = [[i * STEP_MS, "NaN" if i == 9 else 1.0] for i in range(18)]  # an ordinary NaN at 2m15s
    c = [[0, 0.0], [15 * S, 10.0], [30 * S, 20.0], [45 * S, 30.0], [60 * S, "stale"],
         [75 * S, 50.0], [90 * S, 60.0], [105 * S, 70.0], [120 * S, 80.0]]
    return [
        _series({"__name__": "stale_counter_total", "job": "a"}, c),
        _series({"__name__": "stale_gauge", "job": "a"}, a),
        _series({"__name__": "stale_gauge", "job": "b"}, b),
    ]


STALE_SERIES = _stale_series()

# (expr, offset ms, expected): expected is None for an empty vector, a float for a scalar,
# or {labels as a sorted tuple of pairs: value}; values compare within 1e-12 (relative).
_A = (("__name__", "stale_gauge"), ("job", "a"))
_B = (("__name__", "stale_gauge"), ("job", "b"))
NAN = math.nan
STALE_CASES = [
    ('stale_gauge{job="a"}', 2 * MIN, {_A: 8.0}),
    ('stale_gauge{job="a"}', 2 * MIN + 15 * S - 1, {_A: 8.0}),
    ('stale_gauge{job="a"}', 2 * MIN + 15 * S, None),          # the marker hides it at once
    ('stale_gauge{job="a"}', 3 * MIN, None),                   # though 8 is within 5m
    ('stale_gauge{job="a"}', 4 * MIN, {_A: 100.0}),            # back
    ('stale_gauge', 2 * MIN + 20 * S, {_B: NAN}),              # an ordinary NaN is a value
    ('count(stale_gauge)', 3 * MIN, {(): 1.0}),
    ('stale_gauge{job="a"} + 1', 3 * MIN, None),
    ('sum(stale_gauge)', 3 * MIN, {(): 1.0}),
    # range functions skip the markers
    ('last_over_time(stale_gauge{job="a"}[5m])', 3 * MIN, {_A: 8.0}),  # keeps the name
    ('max_over_time(stale_gauge{job="a"}[1m])', 3 * MIN, {(("job", "a"),): 8.0}),
    ('max_over_time(stale_gauge{job="a"}[30s])', 3 * MIN, None),
    ('min_over_time(stale_gauge{job="a"}[10m])', 4 * MIN + 15 * S, {(("job", "a"),): 0.0}),
    ('avg_over_time(stale_gauge{job="a"}[10m])', 4 * MIN + 15 * S, {(("job", "a"),): 251 / 11}),
    ('max_over_time(stale_gauge{job="a"}[2m])', 4 * MIN + 15 * S, {(("job", "a"),): 115.0}),
    # 50, 60, 70, 80 at 75s..120s: +30 over 45s, extrapolated 15s back to the range start
    ('increase(stale_counter_total[1m])', 2 * MIN, {(("job", "a"),): 40.0}),
    ('rate(stale_counter_total[1m])', 2 * MIN, {(("job", "a"),): 40.0 / 60}),
    ('irate(stale_counter_total[1m])', 2 * MIN, {(("job", "a"),): 10.0 / 15}),
    ('delta(stale_counter_total[1m])', 2 * MIN, {(("job", "a"),): 40.0}),
    # [30s, 60s] holds 20 and 30 (the marker at 60s is skipped, it is no reset)
    ('irate(stale_counter_total[30s])', 60 * S, {(("job", "a"),): 10.0 / 15}),
    ('stale_counter_total', 60 * S, None),
    ('stale_counter_total', 75 * S, {(("__name__", "stale_counter_total"), ("job", "a")): 50.0}),
]

