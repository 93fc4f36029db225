"""Job queues for the integration tests: a real Redis and Debian's prometheus-redis-exporter.

Jobs are Redis lists (queue:emails, queue:thumbnails, ...) pushed and popped with
redis-cli; the exporter, started with -check-keys, exports each list's length as
    redis_key_size{db="db0",key="queue:emails"} 3
(a gauge, Debian 12's prometheus-redis-exporter 1.45). Both programs come from Debian
(scripts/install-deps.sh installs redis-server, redis-tools and prometheus-redis-exporter);
the system services those packages ship are never used, started or stopped here: every
test starts its own instances on free loopback ports, in folders of its own, and signals
only the processes it started, by pid.

Fixtures (redis, redis_exporter, redis_exporter_factory) live here too; a test module
imports them, or conftest.py does once for every module:
    from workers_harness import redis, redis_exporter, redis_exporter_factory  # noqa: F401
"""

import math
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pulse_harness as ph  # noqa: E402
from pulse_harness import LOOPBACK, HarnessError  # noqa: E402

REDIS_SERVER = os.environ.get("PULSE_REDIS_SERVER", "/usr/bin/redis-server")
REDIS_CLI = os.environ.get("PULSE_REDIS_CLI", "/usr/bin/redis-cli")
REDIS_EXPORTER = os.environ.get("PULSE_REDIS_EXPORTER", "/usr/bin/prometheus-redis-exporter")

_INSTALL_HINT = "scripts/install-deps.sh installs it"


def _require(path, package):
    if not Path(path).is_file():
        raise HarnessError(f"no {path} (Debian package {package}): {_INSTALL_HINT}")
    return str(path)


def _clean_env():
    """The environment without the variables that would change what the programs do
    behind their flags: the exporter takes REDIS_ADDR, REDIS_PASSWORD and
    REDIS_EXPORTER_* as flag defaults, redis-cli takes REDISCLI_AUTH."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("REDIS_", "REDISCLI_"))}


# ---------------------------------------------------------------------------
# the Prometheus text format, read as a scraper reads it

class ExpositionError(AssertionError):
    pass


# name, then labels (a quoted value may hold "}" or ","), the value, an optional timestamp
_SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
    r'(?:\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\})?'
    r'[ \t]+(\S+)(?:[ \t]+(-?\d+))?[ \t]*$')
_LABEL = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"[ \t]*(?:,|$)')
_ESCAPE = re.compile(r'\\(.)')


def _float(text, lineno):
    special = {"+Inf": math.inf, "Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}
    if text in special:
        return special[text]
    try:
        return float(text)
    except ValueError:
        raise ExpositionError(f"line {lineno}: bad value {text!r}") from None


def parse_exposition(text):
    """[(name, {label: value}, float)] of every sample in a text-format 0.0.4 exposition,
    in order. Comments and blank lines are skipped; any other line that is not a
    well-formed sample raises ExpositionError, as does a label given twice."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    samples = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ExpositionError(f"line {lineno}: not a sample: {line!r}")
        name, label_text, value = m.group(1), m.group(2) or "", m.group(3)
        labels, pos = {}, 0
        while pos < len(label_text):
            lm = _LABEL.match(label_text, pos)
            if not lm or lm.end() == pos:
                raise ExpositionError(f"line {lineno}: bad labels {label_text!r}")
            label = lm.group(1)
            if label in labels:
                raise ExpositionError(f"line {lineno}: label {label} twice")
            labels[label] = _ESCAPE.sub(
                lambda e: {"n": "\n", "\\": "\\", '"': '"'}.get(e.group(1), e.group(0)),
                lm.group(2))
            pos = lm.end()
        samples.append((name, labels, _float(value, lineno)))
    return samples


def metric_types(text):
    """{family: type} from the # TYPE lines."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    types = {}
    for line in text.split("\n"):
        parts = line.split()
        if len(parts) == 4 and parts[:2] == ["#", "TYPE"]:
            types[parts[2]] = parts[3]
    return types


# ---------------------------------------------------------------------------
# Redis

class Redis:
    """redis-server in the foreground on a free loopback port: no persistence (no RDB
    snapshots, no AOF), its working folder a fresh temp folder, no config file (so
    /etc/redis/redis.conf is never read)."""

    def __init__(self, base=None, extra_args=()):
        self.server = _require(REDIS_SERVER, "redis-server")
        self.cli_path = _require(REDIS_CLI, "redis-tools")
        self.dir = ph._fresh_dir(base, "redis")
        self.port = ph.free_port()
        self.log_path = self.dir / "redis.log"
        self.extra_args = list(extra_args)
        self.proc = None
        self._jobs = 0

    @property
    def address(self):
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self):
        return f"redis://{self.address}"

    def _cmd(self):
        return [self.server,
                "--port", str(self.port), "--bind", LOOPBACK,
                "--protected-mode", "no",  # loopback only and no password: let clients in
                "--daemonize", "no", "--supervised", "no",
                "--save", "", "--appendonly", "no",
                "--dir", str(self.dir), "--logfile", "",  # the log is stdout
                *self.extra_args]

    def start(self, timeout=30):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self._cmd(), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir, env=_clean_env())

        def ready():
            if self.proc.poll() is not None:
                raise HarnessError(f"redis-server exited with {self.proc.returncode}")
            if not ph.port_open(self.port):
                return False
            r = self._run("PING")
            return r.returncode == 0 and r.stdout.strip() == "PONG"

        try:
            ph.wait_for(ready, timeout=timeout, message=f"redis-server on {self.address}")
        except HarnessError as e:
            self.stop()
            raise HarnessError(f"{e}\n{self.log_tail()}") from None
        return self

    def _run(self, *args, timeout=10):
        # -e: an error reply exits non-zero (in raw mode it is otherwise printed like a value)
        return subprocess.run([self.cli_path, "-e", "-h", LOOPBACK, "-p", str(self.port),
                               *map(str, args)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout,
                              env=_clean_env())

    def cli(self, *args, timeout=10):
        """Runs one command with redis-cli and returns its raw output without the final
        newline (an array reply: one element a line; nil: ""). Raises HarnessError on an
        error reply or when redis-cli cannot connect."""
        r = self._run(*args, timeout=timeout)
        if r.returncode != 0:
            raise HarnessError(f"redis-cli {' '.join(map(str, args))}: exit {r.returncode}: "
                               f"{(r.stderr or r.stdout).strip()}")
        out = r.stdout
        return out[:-1] if out.endswith("\n") else out

    def push(self, queue, n=1):
        """RPUSH n new jobs (job-1, job-2, ... numbered across the instance) onto the
        list `queue`; returns its new length."""
        if n < 1:
            raise ValueError("push at least one job")
        jobs = [f"job-{self._jobs + i}" for i in range(1, n + 1)]
        self._jobs += n
        return int(self.cli("RPUSH", queue, *jobs))

    def pop(self, queue, n=1, strict=True):
        """LPOP up to n jobs from `queue` (oldest first) and return them. With strict,
        raises unless exactly n were there. Popping a list's last job deletes the key."""
        if n < 1:
            raise ValueError("pop at least one job")
        out = self.cli("LPOP", queue, n)
        jobs = out.split("\n") if out else []
        if strict and len(jobs) != n:
            raise HarnessError(f"popped {len(jobs)} of {n} jobs from {queue}: {jobs}")
        return jobs

    def llen(self, queue):
        return int(self.cli("LLEN", queue))

    def log_tail(self, lines=30):
        return f"--- {self.log_path} (tail) ---\n{ph.tail(self.log_path, lines)}"

    def stop(self, timeout=10, sig=signal.SIGTERM):
        """`sig` (SIGTERM: nothing to save), SIGKILL after timeout. Safe to call twice."""
        if self.proc is None:
            return
        ph.stop_process(self.proc, sig=sig, timeout=timeout)
        self._log.close()
        self.rc = self.proc.returncode
        self.proc = None

    def kill(self):
        self.stop(sig=signal.SIGKILL)

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------
# prometheus-redis-exporter

class RedisExporter:
    """Debian's prometheus-redis-exporter for `redis` (a Redis, or "host:port") on a
    free loopback port. check_keys: key patterns (SCAN MATCH; "db1=pattern" for another
    database, db0 otherwise) whose lengths are exported as redis_key_size.
    check_single_keys: keys exported even while they do not exist (then as 0).

    It asks Redis afresh on every GET /metrics (no cache) and only ever connects to
    redis.addr; -redis-only-metrics leaves out the Go runtime's metrics, and a short
    -connection-timeout bounds a scrape of a Redis that does not answer."""

    def __init__(self, redis, check_keys=("queue:*",), check_single_keys=(), base=None,
                 connection_timeout="2s", extra_args=()):
        self.binary = _require(REDIS_EXPORTER, "prometheus-redis-exporter")
        address = redis.address if isinstance(redis, Redis) else str(redis)
        self.redis_addr = address if "://" in address else f"redis://{address}"
        self.check_keys = [check_keys] if isinstance(check_keys, str) else list(check_keys)
        self.check_single_keys = ([check_single_keys] if isinstance(check_single_keys, str)
                                  else list(check_single_keys))
        self.dir = ph._fresh_dir(base, "redis-exporter")
        self.port = ph.free_port()
        self.log_path = self.dir / "exporter.log"
        self.cmd = [self.binary,
                    "-redis.addr", self.redis_addr,
                    "-web.listen-address", f"{LOOPBACK}:{self.port}",
                    "-web.telemetry-path", "/metrics",
                    "-redis-only-metrics",
                    "-connection-timeout", connection_timeout]
        if self.check_keys:
            self.cmd += ["-check-keys", ",".join(self.check_keys)]
        if self.check_single_keys:
            self.cmd += ["-check-single-keys", ",".join(self.check_single_keys)]
        self.cmd += list(extra_args)
        self.proc = None

    @property
    def address(self):
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self):
        """The metrics URL."""
        return f"http://{self.address}/metrics"

    def start(self, timeout=30):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir, env=_clean_env())

        def ready():
            if self.proc.poll() is not None:
                raise HarnessError(f"prometheus-redis-exporter exited with "
                                   f"{self.proc.returncode}")
            try:
                return ph.http_get(self.url, timeout=5)[0] == 200
            except OSError:
                return False

        try:
            ph.wait_for(ready, timeout=timeout, message=f"exporter on {self.url}")
        except HarnessError as e:
            self.stop()
            raise HarnessError(f"{e}\n{self.log_tail()}") from None
        return self

    def get(self, headers=None, timeout=10):
        """(status, HeaderDict, body bytes) of one GET of the metrics URL."""
        return ph.http_get(self.url, headers=headers, timeout=timeout)

    def metrics_text(self):
        status, headers, body = self.get()
        if status != 200:
            raise HarnessError(f"GET {self.url}: {status} {body[:300]!r}\n{self.log_tail()}")
        return body.decode("utf-8")

    def samples(self):
        """[(name, labels, value)] of one scrape."""
        return parse_exposition(self.metrics_text())

    def key_sizes(self, samples=None):
        """{(db, key): length} from redis_key_size, of `samples` or of a new scrape."""
        if samples is None:
            samples = self.samples()
        sizes = {}
        for name, labels, value in samples:
            if name == "redis_key_size":
                k = (labels["db"], labels["key"])
                if k in sizes:
                    raise ExpositionError(f"redis_key_size{labels} twice")
                sizes[k] = value
        return sizes

    def value(self, name, samples=None, **labels):
        """The value of the one sample `name` with exactly these labels, or None."""
        if samples is None:
            samples = self.samples()
        found = [v for n, l, v in samples if n == name and l == labels]
        if len(found) > 1:
            raise ExpositionError(f"{name}{labels} twice")
        return found[0] if found else None

    def log(self):
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines=30):
        return f"--- {self.log_path} (tail) ---\n{ph.tail(self.log_path, lines)}"

    def stop(self, timeout=10, sig=signal.SIGTERM):
        """`sig` (SIGTERM), SIGKILL after timeout. Safe to call twice."""
        if self.proc is None:
            return
        ph.stop_process(self.proc, sig=sig, timeout=timeout)
        self._log.close()
        self.rc = self.proc.returncode
        self.proc = None

    def kill(self):
        self.stop(sig=signal.SIGKILL)

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------
# fixtures

def _started(make):
    try:
        return make().start()
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def redis(tmp_path_factory):
    """A started Redis, stopped at teardown (its log is shown when the test failed)."""
    r = _started(lambda: Redis(base=tmp_path_factory))
    yield r
    r.stop()
    print(r.log_tail())


@pytest.fixture
def redis_exporter_factory(tmp_path_factory):
    """redis_exporter_factory(redis, check_keys=("queue:*",), **RedisExporter kwargs)
    -> a started RedisExporter; every one is stopped at teardown."""
    made = []

    def make(redis, check_keys=("queue:*",), **kw):
        e = _started(lambda: RedisExporter(redis, check_keys, base=tmp_path_factory, **kw))
        made.append(e)
        return e

    yield make
    for e in made:
        e.stop()
        print(e.log_tail())


@pytest.fixture
def redis_exporter(redis, redis_exporter_factory):
    """The exporter of the `redis` fixture's instance, checking the keys queue:*."""
    return redis_exporter_factory(redis)
