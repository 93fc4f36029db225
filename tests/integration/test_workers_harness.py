"""Self-check of workers_harness: a real Redis holding job queues and Debian's
prometheus-redis-exporter exporting their lengths, as the sidecar's tests will scrape it."""

import gzip
import math

import pytest

import pulse_harness as ph
import workers_harness as wh
from workers_harness import redis, redis_exporter, redis_exporter_factory  # noqa: F401

EMAILS, THUMBS = "queue:emails", "queue:thumbnails"


def test_queue_lengths_follow_push_and_pop(redis, redis_exporter):  # noqa: F811
    assert redis.push(EMAILS, 3) == 3
    assert redis.push(THUMBS, 5) == 5

    text = redis_exporter.metrics_text()
    assert wh.metric_types(text)["redis_key_size"] == "gauge"
    samples = wh.parse_exposition(text)
    # exactly these series: the check-keys pattern queue:* found both lists and nothing else
    assert redis_exporter.key_sizes(samples) == {("db0", EMAILS): 3, ("db0", THUMBS): 5}
    assert redis_exporter.value("redis_up", samples) == 1

    assert redis.pop(EMAILS, 2) == ["job-1", "job-2"]  # oldest first
    assert redis.llen(EMAILS) == 1
    assert redis_exporter.key_sizes() == {("db0", EMAILS): 1, ("db0", THUMBS): 5}

    # the last job popped deletes the list: its series goes away rather than reading 0
    assert redis.pop(EMAILS, 1) == ["job-3"]
    assert redis_exporter.key_sizes() == {("db0", THUMBS): 5}
    with pytest.raises(ph.HarnessError):
        redis.pop(EMAILS, 1)


def test_a_single_key_reads_0_while_missing(redis, redis_exporter_factory):  # noqa: F811
    exporter = redis_exporter_factory(redis, check_keys=(), check_single_keys=(EMAILS,))
    assert exporter.key_sizes() == {("db0", EMAILS): 0}
    redis.push(EMAILS, 2)
    redis.push(THUMBS, 1)  # not asked for
    assert exporter.key_sizes() == {("db0", EMAILS): 2}


def test_pattern_matching_nothing_gives_no_series(redis, redis_exporter_factory):  # noqa: F811
    redis.push(EMAILS, 3)
    redis.push(THUMBS, 5)
    exporter = redis_exporter_factory(redis, check_keys=("jobs:*",))
    samples = exporter.samples()
    assert exporter.value("redis_up", samples) == 1  # it did reach Redis
    assert [s for s in samples if s[0] == "redis_key_size"] == []

    # and an exact key as the pattern finds just that key
    exporter = redis_exporter_factory(redis, check_keys=(THUMBS,))
    assert exporter.key_sizes() == {("db0", THUMBS): 5}


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_stopped_exporter_refuses(redis, redis_exporter, how):  # noqa: F811
    assert redis_exporter.get()[0] == 200
    url = redis_exporter.url
    getattr(redis_exporter, how)()
    with pytest.raises(ConnectionRefusedError):
        ph.http_get(url, timeout=5)
    redis_exporter.stop()  # twice is fine


def test_redis_down_shows_redis_up_0(redis, redis_exporter):  # noqa: F811
    redis.push(EMAILS, 3)
    assert redis_exporter.value("redis_up") == 1
    redis.stop()
    status, _, body = redis_exporter.get()
    assert status == 200  # the exporter still answers, and says Redis is down
    samples = wh.parse_exposition(body)
    assert redis_exporter.value("redis_up", samples) == 0
    assert redis_exporter.key_sizes(samples) == {}
    errors = [(labels, v) for name, labels, v in samples
              if name == "redis_exporter_last_scrape_error"]
    assert len(errors) == 1 and errors[0][1] == 1 and errors[0][0]["err"], errors


def test_exporter_wire_format(redis, redis_exporter):  # noqa: F811
    redis.push(THUMBS, 4)
    # 1.45 offers no OpenMetrics: asked for it, it still answers the text format 0.0.4
    status, headers, body = redis_exporter.get(
        {"Accept": "application/openmetrics-text; version=1.0.0"})
    assert status == 200
    assert headers.first("content-type") == "text/plain; version=0.0.4; charset=utf-8"
    assert headers.first("content-encoding") is None
    assert not body.rstrip().endswith(b"# EOF")
    # gzip when asked
    status, headers, body = redis_exporter.get({"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers.first("content-encoding") == "gzip"
    assert redis_exporter.key_sizes(wh.parse_exposition(gzip.decompress(body))) == {
        ("db0", THUMBS): 4}


def test_parse_exposition():
    text = (
        '# HELP a_metric with {braces} and "quotes"\n'
        '# TYPE a_metric gauge\n'
        'a_metric{key="a,b}c",q="say \\"hi\\"\\n",db="db0"} 3 1700000000000\n'
        'a_metric{key="x"} +Inf\n'
        'b_total NaN\n'
        'c{} -2.5e-3\n'
        '\n'
    )
    samples = wh.parse_exposition(text)
    assert samples[0] == ("a_metric", {"key": "a,b}c", "q": 'say "hi"\n', "db": "db0"}, 3.0)
    assert samples[1] == ("a_metric", {"key": "x"}, math.inf)
    assert samples[2][0] == "b_total" and math.isnan(samples[2][2])
    assert samples[3] == ("c", {}, -0.0025)
    assert wh.metric_types(text) == {"a_metric": "gauge"}
    for bad in ('a{key="x} 1\n', 'a{key=x} 1\n', 'a 1 2 3\n', 'a{k="1",k="2"} 1\n', 'a one\n'):
        with pytest.raises(wh.ExpositionError):
            wh.parse_exposition(bad)
