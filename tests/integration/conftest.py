"""pytest fixtures for the pulse integration tests (helpers live in pulse_harness)."""

import resource
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pulse_harness as ph  # noqa: E402
from workers_harness import redis, redis_exporter, redis_exporter_factory  # noqa: F401,E402


@pytest.fixture(scope="session")
def build_dir():
    return ph.build_dir()


@pytest.fixture(scope="session")
def module_path():
    path = ph.module_path()
    if not path.is_file():
        pytest.fail(f"module not built: run make (no {path})", pytrace=False)
    return path


@pytest.fixture
def nginx_factory(tmp_path_factory):
    """nginx_factory(http_body, main_extra="", workers=2, load_module=True,
    start=True, **Nginx kwargs) -> Nginx; every instance is stopped at teardown."""
    instances = []

    def make(http_body, main_extra="", workers=2, load_module=True, start=True, **kw):
        if load_module and not ph.module_path().is_file():
            pytest.fail(f"module not built: run make (no {ph.module_path()})", pytrace=False)
        ng = ph.Nginx(tmp_path_factory, http_body, main_extra=main_extra,
                      workers=workers, load_module=load_module, **kw)
        instances.append(ng)
        if start:
            ng.start()
        return ng

    yield make

    errors = []
    for ng in instances:
        try:
            ng.stop()
        except Exception as e:  # keep stopping the others
            errors.append(e)
        # shown by pytest only when the test failed
        print(f"--- {ng.error_log_path} (tail) ---\n{ph.tail(ng.error_log_path, 30)}")
    if errors:
        raise errors[0]


@pytest.fixture
def upstream():
    up = ph.Upstream().start()
    yield up
    up.stop()


@pytest.fixture
def prometheus_factory(tmp_path_factory):
    """prometheus_factory([(job, "host:port", metrics_path), ...], **Prometheus kwargs)
    -> started Prometheus; stopped at teardown."""
    instances = []

    def make(scrape_targets, **kw):
        prom = ph.Prometheus(scrape_targets, base=tmp_path_factory, **kw)
        instances.append(prom)
        return prom.start()

    yield make

    for prom in instances:
        prom.stop()
        print(f"--- {prom.log_path} (tail) ---\n{ph.tail(prom.log_path, 20)}")


@pytest.fixture
def sidecar_factory(tmp_path_factory):
    """sidecar_factory(scrape_url, *flags) -> a started ph.Sidecar, stopped at teardown."""
    made = []

    def make(scrape_url, *args):
        if not ph.sidecar_path().is_file():
            pytest.fail(f"sidecar not built: run make (no {ph.sidecar_path()})", pytrace=False)
        s = ph.Sidecar(scrape_url, *args, base=tmp_path_factory)
        made.append(s)
        return s.start()

    yield make
    for s in made:
        s.stop()
        print(f"--- {s.log_path} (tail) ---\n{ph.tail(s.log_path, 30)}")


@pytest.fixture(scope="module")
def many_sockets():
    """Room for a crowd of some thousands of sockets in this process (the slow clients
    of test_http_front and test_reliability_peers); the limit is put back after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 16384 if hard == resource.RLIM_INFINITY else min(hard, 16384)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
