"""conf/kubernetes/workers with the real programs: Debian's prometheus-redis-exporter run
with the flags of jobs/redis-exporter.yaml against a real Redis, and pulse-sidecar run
--config with jobs/workers.yaml as shipped (only the source's URL, interval and timeout
changed, to reach that exporter on loopback within the test's time).

What the HPAs read must hold: pulse_jobs_waiting has one series per job type, each
object's `match` selects its own queue's, a queue Redis deleted when it emptied reads 0
(not absent: the HPA would hold its replicas), and Prometheus evaluates the config's
expressions to the same numbers (promtool). With the key pattern queue:* instead of the
names, the emptied queue would vanish: the reason the manifest lists the keys."""

import json
import re
import subprocess
import time

import pytest
import yaml

import pulse_harness as ph
from workers_harness import REDIS_EXPORTER, RedisExporter, parse_exposition
from workers_harness import redis  # noqa: F401  (the fixture)

JOBS = ph.REPO_ROOT / "conf" / "kubernetes" / "workers" / "jobs"
SIGNALS = ("pulse_jobs_waiting", "pulse_jobs_failed")


def manifest_exporter_args():
    """The exporter container's args in jobs/redis-exporter.yaml."""
    docs = [d for d in yaml.safe_load_all((JOBS / "redis-exporter.yaml").read_text()) if d]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container["args"]


def local_exporter(redis, args, base):
    """Debian's exporter with `args` (a manifest's), its Redis and listen address made
    local; started."""
    e = RedisExporter(redis, check_keys=(), base=base)
    local = []
    for a in args:
        name = a.split("=", 1)[0]
        if name == "--redis.addr":
            a = f"--redis.addr={e.redis_addr}"
        elif name == "--web.listen-address":
            a = f"--web.listen-address={e.address}"
        local.append(a)
    assert any(a.startswith("--web.listen-address=") for a in local), args
    e.cmd = [e.binary, *local]
    try:
        return e.start()
    except ph.HarnessError as err:
        pytest.fail(str(err), pytrace=False)


def shipped_config(tmp_path, exporter_url):
    """jobs/workers.yaml as shipped, its one source pointed at exporter_url, scraped every
    300 ms."""
    config = yaml.safe_load((JOBS / "workers.yaml").read_text())
    (source,) = config["sources"]
    assert source["url"] == "http://redis-exporter.shop.svc:9121/metrics"
    source.update(url=exporter_url, interval="300ms", timeout="300ms")
    path = tmp_path / "workers.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return config, path


def scraped_after(sidecar, t):
    """The first /signals document whose last scrape of the source started after t."""
    def fresh():
        doc = sidecar.signals()
        s = doc["sources"]["redis"]
        if s["last_scrape_unix"] is None:
            return None
        return doc if s["last_scrape_unix"] - s["duration_seconds"] > t else None
    return ph.wait_for(fresh, message=f"a scrape of the exporter after {t}")


def by_job(doc, signal):
    return {s["labels"]["job"]: s["value"] for s in doc["config_signals"][signal]["series"]}


def promtool_evaluates(exporter, config, expected, tmp_path):
    """Prometheus (promtool) evaluates each config signal over one scrape of the exporter,
    with the target labels Prometheus and pulse give it, to expected {signal: {job: value}}."""
    series = [(labels, value) for name, labels, value in exporter.samples() if name == "redis_key_size"]
    assert series, "the exporter exported no redis_key_size"
    inputs = [{"series": "redis_key_size{%s}" % ",".join(
                  f'{k}="{v}"' for k, v in sorted(dict(labels, job="redis", instance=exporter.address).items())),
               "values": f"{value:g}x3"} for labels, value in series]
    cases = [{"expr": s["expr"], "eval_time": "2m",
              "exp_samples": [{"labels": f'{{job="{job}"}}', "value": v}
                              for job, v in sorted(expected[s["name"]].items())]}
             for s in config["signals"]]
    (tmp_path / "empty.yml").write_text("groups: []\n")
    (tmp_path / "signals_test.yml").write_text(json.dumps({
        "rule_files": ["empty.yml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": inputs, "promql_expr_test": cases}]}))
    r = subprocess.run([str(ph.promtool()), "test", "rules", "signals_test.yml"], cwd=tmp_path,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert r.returncode == 0, r.stdout


def test_exporter_flags_are_debians():
    """Every flag the manifest gives the exporter is one Debian's 1.45 knows."""
    r = subprocess.run([REDIS_EXPORTER, "-h"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=30)
    known = set(re.findall(r"^\s+-([a-z][a-z0-9.-]*)", r.stdout, re.M))
    assert {"redis.addr", "check-single-keys", "check-keys"} <= known, r.stdout
    for a in manifest_exporter_args():
        assert a.startswith("--") and a[2:].split("=", 1)[0] in known, a


def test_shipped_config_and_exporter_give_each_hpa_its_queue(tmp_path, redis, sidecar_factory):
    exporter = local_exporter(redis, manifest_exporter_args(), tmp_path)
    try:
        config, path = shipped_config(tmp_path, exporter.url)
        redis.push("queue:emails", 3)
        redis.push("failed:thumbnails", 2)
        sidecar = sidecar_factory("none", "--config", str(path))
        doc = scraped_after(sidecar, time.time())
        # every job of the manifest's keys, an untouched (missing) list as 0
        assert by_job(doc, "pulse_jobs_waiting") == {"emails": 3, "thumbnails": 0}
        assert by_job(doc, "pulse_jobs_failed") == {"emails": 0, "thumbnails": 2}
        # each object the adapter serves selects exactly its own job's series
        waiting = doc["config_signals"]["pulse_jobs_waiting"]["series"]
        objects = config["signals"][0]["objects"]
        assert {o["name"] for o in objects} == {"workers-emails", "workers-thumbnails"}
        for o in objects:
            chosen = [s for s in waiting if all(s["labels"].get(k) == v for k, v in o["match"].items())]
            assert [s["labels"] for s in chosen] == [{"job": o["name"][len("workers-"):]}], (o, waiting)
        # Prometheus reads the same expressions the same way
        promtool_evaluates(exporter, config, {"pulse_jobs_waiting": {"emails": 3, "thumbnails": 0},
                                              "pulse_jobs_failed": {"emails": 0, "thumbnails": 2}}, tmp_path)
        # /metrics, as Prometheus scrapes the adapter: a series per job, the source's health
        _, _, body = sidecar.get("/metrics")
        samples = parse_exposition(body)
        assert {(n, tuple(sorted(l.items())), v) for n, l, v in samples if n in SIGNALS} == {
            ("pulse_jobs_waiting", (("job", "emails"),), 3), ("pulse_jobs_waiting", (("job", "thumbnails"),), 0),
            ("pulse_jobs_failed", (("job", "emails"),), 0), ("pulse_jobs_failed", (("job", "thumbnails"),), 2)}
        assert [(l, v) for n, l, v in samples if n == "pulse_source_up"] == [({"source": "redis"}, 1)]

        # the workers drain queue:emails: Redis deletes the list, the signal reads 0
        redis.pop("queue:emails", 3)
        assert redis.cli("EXISTS", "queue:emails") == "0"
        doc = scraped_after(sidecar, time.time())
        assert by_job(doc, "pulse_jobs_waiting") == {"emails": 0, "thumbnails": 0}
    finally:
        exporter.stop()
        print(exporter.log_tail())


def test_a_key_pattern_would_lose_an_emptied_queue(tmp_path, redis, sidecar_factory):
    """The manifest's warning, shown: with -check-keys 'queue:*,failed:*' an emptied queue
    has no series, so pulse_jobs_waiting has no value for its job (the adapter's 404, the
    HPA holding), where the manifest's key names give 0."""
    args = [a for a in manifest_exporter_args() if not a.startswith("--check-single-keys=")]
    exporter = local_exporter(redis, args + ["--check-keys=queue:*,failed:*"], tmp_path)
    try:
        _, path = shipped_config(tmp_path, exporter.url)
        redis.push("queue:emails", 1)
        redis.push("queue:thumbnails", 1)
        sidecar = sidecar_factory("none", "--config", str(path))
        doc = scraped_after(sidecar, time.time())
        assert by_job(doc, "pulse_jobs_waiting") == {"emails": 1, "thumbnails": 1}
        redis.pop("queue:emails", 1)
        doc = scraped_after(sidecar, time.time())
        assert by_job(doc, "pulse_jobs_waiting") == {"thumbnails": 1}    # emails: no value
        assert by_job(doc, "pulse_jobs_failed") == {}                    # no failed list yet
    finally:
        exporter.stop()
        print(exporter.log_tail())
