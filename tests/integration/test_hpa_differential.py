"""`pulse-sidecar hpa decide` against kube-controller-manager 1.20.2's own HPA code.

The reference is the controller itself: scripts/hpa-diff.sh builds package
pkg/controller/podautoscaler's tests from Debian's `kubernetes` 1.20.2 source (the one the
e2e stage builds its binaries from) with our harness tests/hpa_diff/pulse_diff_test.go.in
copied in, and runs every scenario through the controller's reconcileAutoscaler: its
ReplicaCalculator over a pod lister and a metrics client holding the scenario's state, its
stabilization, scale-up limit and behavior policies over its history maps prefilled from
the state exactly as given (as decide takes it: docs/hpa.md; a first pass is the history
with the current count seeded at now), with time.Now() frozen at the state's time (Go's
faketime). The harness' docstring says how each part of the state reaches the controller.

The scenarios: tests/hpa_diff/hand_checked.py (answers worked out by hand, which check the
harness first) and tests/hpa_diff/gen_scenarios.py's generated ones (deterministic seed;
PULSE_HPA_DIFF_COUNT, default 20000, and PULSE_HPA_DIFF_SEED change them). Both sides get
the same `hpa decide --batch` lines; for each scenario the test compares desiredReplicas,
every condition (type, status, reason, message, in order), and what the controller added
to its history (recordedRecommendation, recordedScaleEvent: time and value, or none). It
prints how many ran, the timings, and every mismatch (the first 20 in full), and fails on
any.

The first run compiles the package's test dependencies (minutes; GOCACHE under
build/kube/gocache); later runs reuse the unpacked tree and the test binary in
build/hpa-diff.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pulse_harness as ph

REPO = Path(__file__).resolve().parents[2]
HPA_DIFF = REPO / "tests" / "hpa_diff"
sys.path.insert(0, str(HPA_DIFF))

import hand_checked  # noqa: E402

COUNT = int(os.environ.get("PULSE_HPA_DIFF_COUNT", "20000"))
SEED = int(os.environ.get("PULSE_HPA_DIFF_SEED", "20210113"))
DETAILED = 20


def _read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def run():
    """The scenarios and the controller's answers: {"scenarios", "answers", "names",
    "timings", "paths"}."""
    work = ph.build_dir() / "hpa-diff"
    work.mkdir(parents=True, exist_ok=True)
    timings = {}

    start = time.monotonic()
    generated = work / "generated.jsonl"
    subprocess.run([sys.executable, str(HPA_DIFF / "gen_scenarios.py"), "--seed", str(SEED),
                    "--count", str(COUNT), str(generated)], check=True)
    names = [f"hand-checked: {name}" for name, _, _ in hand_checked.CASES]
    lines = [json.dumps(sc, separators=(",", ":")) for _, sc, _ in hand_checked.CASES]
    with open(generated) as f:
        for i, line in enumerate(f):
            if line.strip():
                names.append(f"generated #{i} (seed {SEED})")
                lines.append(line.strip())
    scenarios = work / "scenarios.jsonl"
    scenarios.write_text("\n".join(lines) + "\n")
    timings["generate"] = time.monotonic() - start

    start = time.monotonic()
    proc = subprocess.run([str(REPO / "scripts" / "hpa-diff.sh"), str(ph.build_dir()), str(scenarios)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=3600)
    timings["controller"] = time.monotonic() - start
    if proc.returncode != 0:
        pytest.fail(f"scripts/hpa-diff.sh failed:\n{proc.stdout[-20000:]}", pytrace=False)
    answers_path = work / "scenarios.controller.jsonl"
    answers = _read_jsonl(answers_path)
    assert len(answers) == len(lines), f"{len(answers)} answers for {len(lines)} scenarios"
    return {"scenarios": [json.loads(x) for x in lines], "answers": answers, "names": names,
            "timings": timings, "log": proc.stdout,
            "paths": {"scenarios": scenarios, "controller": answers_path}}


def _conditions(answer):
    return [(c.get("type"), c.get("status"), c.get("reason"), c.get("message"))
            for c in answer.get("conditions") or []]


def test_controller_harness(run, capsys):
    """Every scenario is one the API server accepts and the controller synced, and the
    hand-checked ones come out as worked out by hand."""
    errors = [(i, a["error"]) for i, a in enumerate(run["answers"]) if "error" in a]
    assert not errors, "the harness refused or could not run scenarios (a generator or harness bug):\n" + \
        "\n".join(f"  {run['names'][i]}: {e}" for i, e in errors[:20])
    wrong = []
    for i, (name, _, expected) in enumerate(hand_checked.CASES):
        got = run["answers"][i]
        want_conditions = [tuple(c) for c in expected["conditions"]]
        got_conditions = [c[:len(w)] for c, w in zip(_conditions(got), want_conditions)]
        if got.get("desiredReplicas") != expected["desiredReplicas"] or \
                len(_conditions(got)) != len(want_conditions) or got_conditions != want_conditions:
            wrong.append(f"  {name}:\n    controller: {got.get('desiredReplicas')} {_conditions(got)}\n"
                         f"    by hand:    {expected['desiredReplicas']} {want_conditions}")
    assert not wrong, "the controller (through the harness) disagrees with the hand-worked answers:\n" + \
        "\n".join(wrong)
    with capsys.disabled():
        print(f"\nhpa differential: the controller's reconcileAutoscaler ran {len(run['answers'])} scenarios "
              f"({len(hand_checked.CASES)} hand-checked, all as worked out) in {run['timings']['controller']:.1f} s")
        for line in run["log"].splitlines():
            if line.startswith("hpa-diff:"):
                print("  " + line)


def _recorded(answer, field, keys):
    """What the answer says was added to the controller's history, as a tuple (or None)."""
    value = answer.get(field)
    return None if value is None else tuple(value.get(k) for k in keys)


def test_decide_matches_controller(run, capsys):
    binary = ph.sidecar_path()
    if not binary.is_file():
        pytest.fail(f"sidecar not built: run make (no {binary})", pytrace=False)

    start = time.monotonic()
    with open(run["paths"]["scenarios"]) as stdin:
        proc = subprocess.run([str(binary), "hpa", "decide", "--batch"], stdin=stdin, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=1800)
    decide_time = time.monotonic() - start
    assert proc.returncode == 0, f"hpa decide --batch exited {proc.returncode}:\n{proc.stderr[-5000:]}"
    decided = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert len(decided) == len(run["answers"]), \
        f"hpa decide --batch gave {len(decided)} answers for {len(run['answers'])} scenarios"
    decide_path = run["paths"]["scenarios"].with_name("scenarios.decide.jsonl")
    decide_path.write_text(proc.stdout)

    mismatches = []
    for i, (want, got) in enumerate(zip(run["answers"], decided)):
        diffs = []
        if "error" in got:
            diffs.append(f"decide refused it: {got['error']}")
        else:
            if got.get("desiredReplicas") != want["desiredReplicas"]:
                diffs.append(f"desiredReplicas: controller {want['desiredReplicas']}, decide {got.get('desiredReplicas')}")
            cw, cg = _conditions(want), _conditions(got)
            if cw != cg:
                for k in range(max(len(cw), len(cg))):
                    a = cw[k] if k < len(cw) else None
                    b = cg[k] if k < len(cg) else None
                    if a != b:
                        diffs.append(f"condition {k}: controller {a}, decide {b}")
            for field, keys in (("recordedRecommendation", ("time", "replicas")),
                                ("recordedScaleEvent", ("time", "change"))):
                a, b = _recorded(want, field, keys), _recorded(got, field, keys)
                if a != b:
                    diffs.append(f"{field}: controller {a}, decide {b}")
        if diffs:
            mismatches.append((i, diffs))

    report = run["paths"]["scenarios"].with_name("mismatches.txt")
    with open(report, "w") as f:
        for i, diffs in mismatches:
            f.write(f"{run['names'][i]} (line {i + 1} of {run['paths']['scenarios']})\n")
            for d in diffs:
                f.write(f"  {d}\n")
            f.write(f"  scenario:   {json.dumps(run['scenarios'][i], separators=(',', ':'))}\n")
            f.write(f"  controller: {json.dumps(run['answers'][i])}\n")
            f.write(f"  decide:     {json.dumps(decided[i])}\n")

    lines = [f"\nhpa differential: {len(decided)} scenarios ({len(hand_checked.CASES)} hand-checked, "
             f"{len(decided) - len(hand_checked.CASES)} generated, seed {SEED}) through the controller and "
             f"`hpa decide`: {len(mismatches)} mismatching",
             f"  timings: generate {run['timings']['generate']:.1f} s, controller (hpa-diff.sh) "
             f"{run['timings']['controller']:.1f} s, decide {decide_time:.1f} s"]
    for n, (i, diffs) in enumerate(mismatches):
        lines.append(f"  {run['names'][i]} (line {i + 1}): " + "; ".join(diffs))
        if n < DETAILED:
            lines.append(f"    scenario:   {json.dumps(run['scenarios'][i], separators=(',', ':'))}")
            lines.append(f"    controller: {json.dumps(run['answers'][i])}")
            lines.append(f"    decide:     {json.dumps(decided[i])}")
    if mismatches:
        lines.append(f"  all of them, with scenarios and both answers: {report}")
    with capsys.disabled():
        print("\n".join(lines))
    if mismatches:
        pytest.fail(f"{len(mismatches)} of {len(decided)} scenarios: `hpa decide` differs from the controller "
                    f"(listed above; all in {report})", pytrace=False)
