"""pulse's PromQL evaluator against a real Prometheus 2.42, on the same samples.

promql_corpus.SERIES is written as OpenMetrics text (one family per metric, timestamps in
seconds with milliseconds, `# EOF`) and turned into TSDB blocks by
`promtool tsdb create-blocks-from openmetrics`; Debian's Prometheus 2.42 then serves that
folder (--storage.tsdb.path, --storage.tsdb.retention.time=100y, no scrape target) on a
free loopback port. The samples sit at a fixed instant in November 2023 (the same data at
every run): promtool writes blocks for any past time, and 2.42's time retention counts back
from the newest block, not from now (100y would keep them anyway). Timestamps are checked to
read back as the exact milliseconds (promtool keeps int64(seconds * 1000)), and
test_prometheus_holds_exactly_the_samples compares every loaded sample. The same series go
to pulse through tests/tools/promql_eval (build/promql_eval: SAMPLES.json, then
`TIME_MS<TAB>EXPRESSION` lines in, one JSON answer a line out).

Every corpus expression is evaluated at each of its times on both sides, through
/api/v1/query?query=...&time=... (an RFC 3339 time, exact to the millisecond) and
promql_eval:

- same result type; vectors equal as sets of (labels, value); values equal as floats, NaN
  equal to NaN (and, when equal, written the same way, so promql_eval's formatting matches
  Go's strconv.FormatFloat(v, 'f', -1, 64) as Prometheus' API prints it);
- where Prometheus refuses an expression pulse must refuse it too, naming a position
  (wording may differ);
- promql_corpus.REJECTED: Prometheus answers, pulse refuses with "not supported" and a
  position at the construct it refuses.

Staleness markers: OpenMetrics text cannot carry Prometheus' stale NaN, so the shared data
has none. There, "stale" series are series that stop (thumbnails at 8m, code="404" at 12m,
everything at 20m) and are queried exactly 5m after (still returned by 2.42) and 1 ms later
(gone). Real markers are checked on pulse's side only, against hand-computed answers
(promql_corpus.STALE_SERIES and STALE_CASES).
"""

import concurrent.futures
import datetime
import json
import math
import re
import subprocess
import urllib.parse

import pytest

import promql_corpus as corpus
import pulse_harness as ph


# ---------------------------------------------------------------------------------------
# helpers


def rfc3339(t_ms):
    t = datetime.datetime.fromtimestamp(t_ms // 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{t_ms % 1000:03d}Z"


def om_escape(value):
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def om_value(v):
    if isinstance(v, str):
        if v not in ("NaN", "+Inf", "-Inf"):
            raise ValueError(f"{v!r} cannot be written as OpenMetrics")
        return v
    return repr(float(v))


def om_timestamp(t_ms):
    if t_ms < 0:
        raise ValueError("negative timestamp")
    text = f"{t_ms // 1000}.{t_ms % 1000:03d}"
    # promtool reads float seconds and keeps int64(ts * 1000): make sure that is t_ms
    if int(float(text) * 1000) != t_ms:
        raise ValueError(f"{text} would not read back as {t_ms} ms")
    return text


def openmetrics_text(series):
    families = {}
    for s in series:
        fam, typ = corpus.om_family(s["labels"]["__name__"])
        families.setdefault((fam, typ), []).append(s)
    lines = []
    for (fam, typ), members in families.items():
        lines.append(f"# TYPE {fam} {typ}")
        for s in members:
            labels = {k: v for k, v in s["labels"].items() if k != "__name__"}
            text = ",".join(f'{k}="{om_escape(v)}"' for k, v in sorted(labels.items()))
            name = s["labels"]["__name__"] + (f"{{{text}}}" if text else "")
            for t, v in s["points"]:
                lines.append(f"{name} {om_value(v)} {om_timestamp(t)}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def same_float(a, b):
    a, b = float(a), float(b)
    return (math.isnan(a) and math.isnan(b)) or a == b


def short(answer, limit=700):
    text = json.dumps(answer, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def promql_eval_path():
    return ph.build_dir() / "promql_eval"


def run_promql_eval(series, queries, workdir):
    """pulse's answers to [(offset_ms, expr)] (evaluated at T0_MS + offset_ms), in order
    (dicts as promql_eval prints them)."""
    tool = promql_eval_path()
    if not tool.is_file():
        pytest.fail(f"promql_eval not built (no {tool}): cmake --build ... --target promql_eval",
                    pytrace=False)
    samples = workdir / "samples.json"
    samples.write_text(json.dumps(series))
    for _, expr in queries:
        assert "\n" not in expr and "\r" not in expr, expr
    stdin = "".join(f"{corpus.T0_MS + t}\t{expr}\n" for t, expr in queries)
    r = subprocess.run([str(tool), str(samples)], input=stdin.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    out = r.stdout.decode(errors="replace").splitlines()
    if r.returncode != 0 or len(out) != len(queries):
        where = queries[len(out)] if len(out) < len(queries) else None
        stderr = r.stderr.decode(errors="replace")[-2000:]
        pytest.fail(f"promql_eval exited {r.returncode} after {len(out)} of {len(queries)} "
                    f"answers (next: {where!r})\nstderr: {stderr}"
                    f"\nlast answer: {out[-1] if out else ''}", pytrace=False)
    return [json.loads(line) for line in out]


class BackfilledPrometheus:
    """Prometheus 2.42 serving a TSDB folder made by promtool; no scrape target."""

    def __init__(self, tsdb_dir, workdir):
        self.tsdb_dir = tsdb_dir
        self.dir = workdir
        self.port = ph.free_port()
        self.proc = None
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text("{}\n")  # JSON is YAML: defaults, no scrape configs
        self.log_path = workdir / "prometheus.log"

    @property
    def base_url(self):
        return f"http://{ph.LOOPBACK}:{self.port}"

    def start(self, timeout=60):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([
            str(ph.prometheus_bin()),
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.tsdb_dir}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address={ph.LOOPBACK}:{self.port}",
        ], stdout=self._log, stderr=subprocess.STDOUT, cwd=self.dir)

        def ready():
            if self.proc.poll() is not None:
                raise ph.HarnessError(f"prometheus exited with {self.proc.returncode}:\n"
                                      f"{ph.tail(self.log_path)}")
            try:
                return ph.http_get(self.base_url + "/-/ready", timeout=2)[0] == 200
            except OSError:
                return False

        try:
            ph.wait_for(ready, timeout=timeout, interval=0.2, message="prometheus to be ready")
        except ph.HarnessError as e:
            self.stop()
            raise ph.HarnessError(f"{e}\n{ph.tail(self.log_path)}") from None
        return self

    def query(self, expr, t_ms):
        """{"status": "success", "data": ...} or {"status": "error", "error": ...}."""
        url = f"{self.base_url}/api/v1/query?" + urllib_encode(query=expr, time=rfc3339(t_ms))
        status, _, body = ph.http_get(url, timeout=30)
        try:
            doc = json.loads(body)
        except ValueError:
            raise ph.HarnessError(f"prometheus answered {status} {body[:300]!r} to {expr!r}")
        if doc.get("status") not in ("success", "error"):
            raise ph.HarnessError(f"prometheus answered {status} {body[:300]!r} to {expr!r}")
        if doc["status"] == "error" and doc.get("errorType") not in ("bad_data", "execution"):
            raise ph.HarnessError(f"prometheus failed on {expr!r}: {body[:500]!r}")
        return doc

    def stop(self, timeout=10):
        if self.proc is None:
            return
        ph.stop_process(self.proc, timeout=timeout)
        self._log.close()
        self.proc = None


def urllib_encode(**params):
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def prometheus_answers(prom, queries):
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda q: prom.query(q[1], corpus.T0_MS + q[0]), queries))


# ---------------------------------------------------------------------------------------
# comparing answers


def normalize_prometheus(doc):
    if doc["status"] == "error":
        return {"error": doc["error"]}
    data = doc["data"]
    kind = data["resultType"]
    if kind == "scalar":
        return {"resultType": "scalar", "value": data["result"][1]}
    if kind == "vector":
        return {"resultType": "vector",
                "result": [{"metric": s["metric"], "value": s["value"][1]} for s in data["result"]]}
    return {"resultType": kind, "result": data["result"]}


def error_position_problem(expr, answer):
    """Why pulse's error does not name a usable position, or None."""
    pos = answer.get("pos")
    if answer.get("internal"):
        return "an exception escaped pulse's code"
    if not isinstance(pos, int) or isinstance(pos, bool) or not 0 <= pos <= len(expr.encode()):
        return f"no position inside the expression (pos {pos!r})"
    m = re.match(r"(\d+):(\d+): ", answer["error"])
    if m and expr.isascii() and (int(m.group(1)), int(m.group(2))) != (1, pos + 1):
        return f"\"{m.group(0).strip()}\" does not match pos {pos}"
    return None


def compare(expr, prom, pulse):
    """None when equal, else why they differ."""
    if "error" in prom or "error" in pulse:
        if "error" in prom and "error" in pulse:
            return error_position_problem(expr, pulse)
        return "only Prometheus refuses it" if "error" in prom else "only pulse refuses it"
    if prom["resultType"] != pulse.get("resultType"):
        return f"result type {prom['resultType']} vs {pulse.get('resultType')}"
    if prom["resultType"] == "scalar":
        return value_problem(prom["value"], pulse["value"])
    if prom["resultType"] != "vector":
        return f"unexpected result type {prom['resultType']}"

    def keyed(samples):
        return sorted(((tuple(sorted(s["metric"].items())), s["value"]) for s in samples),
                      key=lambda x: x[0])

    p, q = keyed(prom["result"]), keyed(pulse["result"])
    if [k for k, _ in p] != [k for k, _ in q]:
        only_p = sorted(set(k for k, _ in p) - set(k for k, _ in q))
        only_q = sorted(set(k for k, _ in q) - set(k for k, _ in p))
        return (f"label sets differ ({len(p)} vs {len(q)} samples; only in Prometheus: "
                f"{[dict(k) for k in only_p][:5]}, only in pulse: {[dict(k) for k in only_q][:5]})")
    for (labels, a), (_, b) in zip(p, q):
        problem = value_problem(a, b)
        if problem:
            return f"{dict(labels)}: {problem}"
    return None


def value_problem(prom_value, pulse_value):
    try:
        equal = same_float(prom_value, pulse_value)
    except (TypeError, ValueError):
        return f"value {prom_value!r} vs {pulse_value!r}"
    if not equal:
        return f"value {prom_value} vs {pulse_value}"
    if prom_value != pulse_value and float(prom_value) != 0:
        return f"value written {prom_value!r} by Prometheus, {pulse_value!r} by promql_eval"
    return None


# ---------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    work = tmp_path_factory.mktemp("promql-diff")
    om = work / "samples.om.txt"
    om.write_text(openmetrics_text(corpus.SERIES))
    tsdb = work / "tsdb"
    r = subprocess.run([str(ph.promtool()), "tsdb", "create-blocks-from", "openmetrics",
                        str(om), str(tsdb)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300)
    assert r.returncode == 0, f"promtool create-blocks-from failed:\n{r.stdout.decode()[-3000:]}"
    prom = BackfilledPrometheus(tsdb, work).start()
    yield prom
    prom.stop()
    print(f"--- {prom.log_path} (tail) ---\n{ph.tail(prom.log_path, 20)}")


def corpus_queries():
    return [(t, case.expr, case) for case in corpus.CORPUS for t in case.times]


@pytest.fixture(scope="module")
def answers(prometheus, tmp_path_factory):
    """[(case, t, Prometheus' answer)] for every corpus query."""
    queries = corpus_queries()
    docs = prometheus_answers(prometheus, [(t, e) for t, e, _ in queries])
    prom = [normalize_prometheus(d) for d in docs]
    return [(case, t, p) for (t, _, case), p in zip(queries, prom)]


# ---------------------------------------------------------------------------------------
# tests


def test_corpus_is_large_and_distinct():
    exprs = [c.expr for c in corpus.CORPUS]
    assert len(exprs) >= 120, len(exprs)
    assert len(set(exprs)) == len(exprs), [e for e in exprs if exprs.count(e) > 1]
    rejected = [r.expr for r in corpus.REJECTED]
    assert not set(rejected) & set(exprs)
    for r in corpus.REJECTED:
        assert r.positions(), r


def test_prometheus_holds_exactly_the_samples(prometheus):
    """What promtool loaded is what promql_eval gets: every timestamp and value."""
    at = corpus.T0_MS + corpus.WINDOW_MS + 10 * corpus.MIN
    doc = prometheus.query('{__name__=~".+"}[40m]', at)
    assert doc["status"] == "success", doc
    got = {tuple(sorted(s["metric"].items())): [(round(t * 1000), v) for t, v in s["values"]]
           for s in doc["data"]["result"]}
    want = {tuple(sorted(s["labels"].items())): s["points"] for s in corpus.SERIES}
    assert sorted(got) == sorted(want)
    for labels, points in want.items():
        loaded = got[labels]
        assert [t for t, _ in loaded] == [t for t, _ in points], labels
        for (_, a), (_, b) in zip(loaded, points):
            assert same_float(a, b), (labels, a, b)


def test_corpus_expectations_hold_in_prometheus(answers):
    """Each "value" case is answered by Prometheus at every time, each "error" case refused
    (a check of the corpus itself)."""
    wrong = []
    for case, t, prom in answers:
        refused = "error" in prom
        if refused != (case.kind == "error"):
            wrong.append(f"{case.expr!r} at T0{t:+d}ms: kind {case.kind}, "
                         f"Prometheus: {short(prom)}")
    assert not wrong, (f"{len(wrong)} corpus entries Prometheus does not treat as declared:\n"
                       + "\n".join(wrong))


def test_pulse_answers_as_prometheus(answers, tmp_path, capsys):
    queries = [(t, case.expr) for case, t, _ in answers]
    pulse = run_promql_eval(corpus.SERIES, queries, tmp_path)
    mismatches = []
    for (case, t, prom), mine in zip(answers, pulse):
        problem = compare(case.expr, prom, mine)
        if problem:
            mismatches.append(
                f"{case.expr!r} at T0{t:+d}ms ({rfc3339(corpus.T0_MS + t)}): {problem}\n"
                f"    prometheus: {short(prom)}\n    pulse:      {short(mine)}")
    exprs_failing = len({m.split(" at T0")[0] for m in mismatches})
    summary = (f"promql differential: {len(corpus.CORPUS)} expressions, {len(answers)} compared, "
               f"{len(answers) - len(mismatches)} equal, {len(mismatches)} different "
               f"({exprs_failing} expressions)")
    with capsys.disabled():
        print("\n" + summary)
    assert not mismatches, summary + "\n" + "\n".join(mismatches)


def test_rejected_constructs(prometheus, tmp_path, capsys):
    """Prometheus answers these; pulse refuses them on purpose, saying so and where."""
    t = corpus.REJECTED_TIME
    prom = [normalize_prometheus(d) for d in
            prometheus_answers(prometheus, [(t, r.expr) for r in corpus.REJECTED])]
    pulse = run_promql_eval(corpus.SERIES, [(t, r.expr) for r in corpus.REJECTED], tmp_path)
    problems = []
    for r, p, mine in zip(corpus.REJECTED, prom, pulse):
        why = []
        if "error" in p:
            why.append("Prometheus refuses it too (a corpus problem)")
        if "error" not in mine:
            why.append("pulse answers it")
        else:
            if "not supported" not in mine["error"].lower():
                why.append('the error does not say "not supported"')
            position = error_position_problem(r.expr, mine)
            if position:
                why.append(position)
            elif mine["pos"] not in r.positions():
                why.append(f"pos {mine['pos']} is not at {r.at} (positions {r.positions()})")
        if why:
            problems.append(f"{r.expr!r}: {'; '.join(why)}\n    prometheus: {short(p)}\n"
                            f"    pulse:      {short(mine)}")
    summary = (f"promql rejected constructs: {len(corpus.REJECTED)} checked, "
               f"{len(corpus.REJECTED) - len(problems)} as expected")
    with capsys.disabled():
        print("\n" + summary)
    assert not problems, summary + "\n" + "\n".join(problems)


def test_staleness_markers_pulse_only(tmp_path):
    """Prometheus' stale NaN hides a series at once (instant selectors) and is skipped by
    range functions; an ordinary NaN is a value. Checked against hand-computed answers."""
    queries = [(t, expr) for expr, t, _ in corpus.STALE_CASES]
    pulse = run_promql_eval(corpus.STALE_SERIES, queries, tmp_path)
    problems = []
    for (expr, t, expected), mine in zip(corpus.STALE_CASES, pulse):
        if "error" in mine:
            ok = False
        elif expected is None:
            ok = mine.get("resultType") == "vector" and mine["result"] == []
        elif isinstance(expected, float):
            ok = mine.get("resultType") == "scalar" and close(mine["value"], expected)
        else:
            got = {tuple(sorted(s["metric"].items())): s["value"] for s in mine.get("result", [])}
            ok = (mine.get("resultType") == "vector" and set(got) == set(expected)
                  and all(close(got[k], v) for k, v in expected.items()))
        if not ok:
            problems.append(f"{expr!r} at T0{t:+d}ms: expected {expected}, pulse: {short(mine)}")
    assert not problems, "\n".join(problems)


def close(text, expected):
    v = float(text)
    if math.isnan(expected):
        return math.isnan(v)
    return math.isclose(v, expected, rel_tol=1e-12, abs_tol=0.0)
