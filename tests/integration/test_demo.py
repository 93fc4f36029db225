"""`make demo` keeps working: the script starts nginx with the module and the sidecar on
loopback, and what it prints shows counted requests, the cache policy and the signals."""

import os
import subprocess

import pulse_harness as ph


def test_demo_runs_and_shows_where_to_look(module_path):
    if not ph.sidecar_path().is_file():
        raise AssertionError(f"sidecar not built: run make (no {ph.sidecar_path()})")
    env = dict(os.environ, DEMO_SECONDS="1")
    env.pop("DEMO_PORT", None)
    r = subprocess.run([str(ph.REPO_ROOT / "scripts" / "demo.sh"), str(ph.build_dir())],
                       capture_output=True, text=True, timeout=120, env=env)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "pulse demo is running" in out
    assert 'nginx_http_requests_total{server="demo.local",location="/assets/"' in out
    assert "Cache-Control: public, max-age=31536000, immutable" in out
    assert "Cache-Control: no-cache" in out
    assert '"pulse_requests_per_second"' in out and '"stale": false' in out
