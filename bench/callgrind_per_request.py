#!/usr/bin/python3
"""Instructions per request from pairs of callgrind out files.

Each variant was run twice, in a fresh nginx each time: once with N1 and once with N2
keep-alive requests. Startup, configuration parsing, zone set-up and shutdown are the
same in both runs, so they cancel in  (I(N2) - I(N1)) / (N2 - N1).

  callgrind_per_request.py total FILE
      the file's total instruction count ("totals:", else "summary:")

  callgrind_per_request.py table --n1 N1 --n2 N2 VARIANT...
      VARIANT is  key|label|file_n1|file_n2|target_percent|base_key  (target_percent
      and base_key may be empty: no target, or the variant is the baseline; a
      target_percent that is not a number is printed as a note)

  callgrind_per_request.py functions --n1 N1 --n2 N2 --object SUBSTR FILE_N1 FILE_N2
      per-request instructions of each function whose ELF object contains SUBSTR, and of
      the calls those functions make to code outside that object

  callgrind_per_request.py compare --n1 N1 --n2 N2 A_N1 A_N2 B_N1 B_N2
      per-function instructions/request in variant A and B (every object, self cost)
      and their difference: where B spends what A does not

  callgrind_per_request.py policy --n1 N1 --n2 N2 CASE...
      the cache policy's cost against nginx's expires, one line per CASE:
      location|urls|limit|stock_n1|stock_n2|metrics_n1|metrics_n2|expires_n1|expires_n2|
      policy_n1|policy_n2. What `expires max` adds to stock nginx is compared with what
      `pulse_cache_policy auto` adds to the module with metrics on (both set Cache-Control
      and Expires on the same response); limit is the largest ratio allowed
"""

import argparse
import re
import sys
from collections import defaultdict

_NAME = re.compile(r"^\((\d+)\)(?: (.*))?$")


def total(path):
    summary = totals = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("summary:"):
                summary = int(line.split()[1])
            elif line.startswith("totals:"):
                totals = int(line.split()[1])
    # "totals:" is the sum of every cost line (what the per-function breakdown adds up
    # to); "summary:" is callgrind's own counter, a few hundred lower at exit.
    value = totals if totals else summary
    if value is None:
        sys.exit(f"{path}: no summary or totals line (did callgrind finish?)")
    return value


class Profile:
    """Self cost per (object, function) and call costs per (caller, callee), Ir only."""

    def __init__(self, path):
        self.self_cost = defaultdict(int)   # (ob, fn) -> Ir
        self.call_cost = defaultdict(int)   # ((ob, fn), (cob, cfn)) -> inclusive Ir
        self.call_count = defaultdict(int)
        names = {"ob": {}, "fl": {}, "fn": {}}

        def name(kind, text):
            m = _NAME.match(text)
            if not m:
                return text
            ident, value = m.group(1), m.group(2)
            if value is not None:
                names[kind][ident] = value
                return value
            return names[kind].get(ident, f"({ident})")

        npos = 1
        ob = fn = None
        cob = cfn = None
        pending_calls = 0
        with open(path, encoding="utf-8", errors="replace") as f:
            for raw in f:
                line = raw.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                c = line[0]
                if c.isdigit() or c in "+-*":
                    parts = line.split()
                    cost = int(parts[npos]) if len(parts) > npos else 0
                    if pending_calls:
                        key = ((ob, fn), (cob if cob is not None else ob, cfn))
                        self.call_cost[key] += cost
                        self.call_count[key] += pending_calls
                        pending_calls = 0
                        cob = None
                    else:
                        self.self_cost[(ob, fn)] += cost
                    continue
                key, _, value = line.partition("=")
                if key == "fn":
                    fn = name("fn", value)
                elif key == "ob":
                    ob = name("ob", value)
                elif key in ("fl", "fi", "fe", "cfi", "cfl", "jfi"):
                    name("fl", value)
                elif key == "cob":
                    cob = name("ob", value)
                elif key == "cfn":
                    cfn = name("fn", value)
                elif key == "jfn":
                    name("fn", value)
                elif key == "calls":
                    pending_calls = int(value.split()[0])
                elif line.startswith("positions:"):
                    npos = len(line.split()[1:])


def short(fn):
    """A readable function name: no parameter list, no anonymous namespace."""
    fn = fn.replace("(anonymous namespace)::", "")
    depth = 0
    for i, ch in enumerate(fn):
        if ch == "(":
            if depth == 0 and i > 0:
                return fn[:i]
            depth += 1
        elif ch == ")":
            depth -= 1
    return fn


def cmd_table(args):
    rows = []
    by_key = {}
    for spec in args.variants:
        key, label, f1, f2, target, base = (spec.split("|") + [""] * 6)[:6]
        i1, i2 = total(f1), total(f2)
        per = (i2 - i1) / (args.n2 - args.n1)
        by_key[key] = per
        rows.append((key, label, per, target, base, i1, i2))

    print(f"  {'variant':<52} {'instr/request':>14} {'vs stock':>9}  target")
    for key, label, per, target, base, i1, i2 in rows:
        if base:
            ref = by_key[base]
            pct = (per / ref - 1.0) * 100.0
            over = f"{pct:+.2f}%"
            if target and target.replace(".", "", 1).isdigit():
                verdict = "ok" if pct <= float(target) else "OVER TARGET"
                tgt = f"<= +{float(target):g}%  {verdict}"
            elif target:
                tgt = f"({target})"
            else:
                tgt = "(reference, no target)"
        else:
            over, tgt = "", "(baseline)"
        print(f"  {label:<52} {per:>14.1f} {over:>9}  {tgt}")
    print()
    print("  raw totals (instructions):")
    for key, label, per, target, base, i1, i2 in rows:
        print(f"    {key:<10} I(N1={args.n1})={i1:,}  I(N2={args.n2})={i2:,}  "
              f"difference={i2 - i1:,}")
    for extra in args.compare or []:
        a, b, text = extra.split("|", 2)
        if a in by_key and b in by_key:
            pct = (by_key[a] / by_key[b] - 1.0) * 100.0
            print(f"  {text}: {by_key[a] - by_key[b]:+.1f} instructions/request ({pct:+.2f}%)")


def cmd_functions(args):
    p1, p2 = Profile(args.file_n1), Profile(args.file_n2)
    dn = args.n2 - args.n1

    def in_object(ob):
        return ob is not None and args.object in ob

    self_rows = defaultdict(float)
    for key in set(p1.self_cost) | set(p2.self_cost):
        if in_object(key[0]):
            d = p2.self_cost.get(key, 0) - p1.self_cost.get(key, 0)
            self_rows[short(key[1])] += d / dn

    out_rows = defaultdict(float)
    out_calls = defaultdict(float)
    handed_on = defaultdict(float)
    for key in set(p1.call_cost) | set(p2.call_cost):
        (ob, fn), (cob, cfn) = key
        if not in_object(ob) or in_object(cob):
            continue
        d = p2.call_cost.get(key, 0) - p1.call_cost.get(key, 0)
        c = p2.call_count.get(key, 0) - p1.call_count.get(key, 0)
        # A filter of the module hands every response on to the next filter of nginx's
        # chain (a static function, so named by its address in Debian's stripped nginx):
        # that is nginx's work, which stock nginx does too, not the module's.
        if "filter" in fn and (cfn.startswith("0x") or "filter" in cfn):
            handed_on[f"{short(cfn)}  (from {short(fn)})"] += d / dn
            continue
        name = f"{short(cfn)}  (from {short(fn)})"
        out_rows[name] += d / dn
        out_calls[name] += c / dn

    total_self = sum(self_rows.values())
    total_out = sum(out_rows.values())
    print(f"  self cost of functions in {args.object} (instructions/request):")
    for name, v in sorted(self_rows.items(), key=lambda kv: -abs(kv[1])):
        if abs(v) >= args.min:
            print(f"    {v:>9.1f}  {name}")
    print(f"    {total_self:>9.1f}  = sum")
    print("  calls from the module into nginx / libc / libstdc++ (inclusive, per request):")
    for name, v in sorted(out_rows.items(), key=lambda kv: -abs(kv[1])):
        if abs(v) >= args.min:
            print(f"    {v:>9.1f}  {name}  [{out_calls[name]:.2f} calls/request]")
    print(f"    {total_out:>9.1f}  = sum")
    for name, v in sorted(handed_on.items(), key=lambda kv: -abs(kv[1])):
        print(f"  not counted, handed on to nginx's next filter: {v:.1f}  {name}")
    print(f"  attributed to the module: {total_self + total_out:.1f} instructions/request"
          " (the rest of the measured difference is nginx running the extra phase"
          " handlers and filter)")


def cmd_compare(args):
    """Per-function instructions/request of variant B minus variant A, every object."""
    dn = args.n2 - args.n1

    def per_request(f1, f2):
        p1, p2 = Profile(f1), Profile(f2)
        rows = defaultdict(float)
        for key in set(p1.self_cost) | set(p2.self_cost):
            ob = (key[0] or "?").rsplit("/", 1)[-1]
            rows[(ob, short(key[1]))] += (p2.self_cost.get(key, 0) - p1.self_cost.get(key, 0)) / dn
        return rows

    a = per_request(args.a_n1, args.a_n2)
    b = per_request(args.b_n1, args.b_n2)
    diffs = {k: b.get(k, 0.0) - a.get(k, 0.0) for k in set(a) | set(b)}
    shown = 0.0
    print(f"    {'A':>9} {'B':>9} {'B - A':>9}  function [object]")
    for k, d in sorted(diffs.items(), key=lambda kv: -abs(kv[1])):
        if abs(d) < args.min:
            continue
        shown += d
        print(f"    {a.get(k, 0.0):>9.1f} {b.get(k, 0.0):>9.1f} {d:>+9.1f}  {k[1]} [{k[0]}]")
    total = sum(diffs.values())
    print(f"    {'':>9} {'':>9} {shown:>+9.1f}  shown; {total:+.1f} in all")


def cmd_policy(args):
    dn = args.n2 - args.n1

    def per(f1, f2):
        return (total(f2) - total(f1)) / dn

    print(f"  {'location':<10} {'URL':<9} {'expires max adds':>16} {'the policy adds':>16} "
          f"{'ratio':>6}  target")
    for case in args.cases:
        fields = case.split("|")
        if len(fields) != 11:
            sys.exit(f"policy: a case has 11 fields, not {len(fields)}: {case}")
        location, urls, limit = fields[0], fields[1], float(fields[2])
        stock, metrics, expires, policy = (per(fields[i], fields[i + 1]) for i in (3, 5, 7, 9))
        by_expires = expires - stock
        by_policy = policy - metrics
        ratio = by_policy / by_expires if by_expires > 0 else float("inf")
        verdict = "ok" if ratio <= limit else "OVER TARGET"
        print(f"  {location:<10} {urls:<9} {by_expires:>16.1f} {by_policy:>16.1f} "
              f"{ratio:>6.2f}  <= {limit:g}x expires  {verdict}")
    print("  (expires max adds: (c) - (a); the policy adds: (d) - (b); instructions/request)")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("total")
    t.add_argument("file")
    tb = sub.add_parser("table")
    tb.add_argument("--n1", type=int, required=True)
    tb.add_argument("--n2", type=int, required=True)
    tb.add_argument("--compare", action="append",
                    help="KEY_A|KEY_B|text: print A's difference to B")
    tb.add_argument("variants", nargs="+")
    fu = sub.add_parser("functions")
    fu.add_argument("--n1", type=int, required=True)
    fu.add_argument("--n2", type=int, required=True)
    fu.add_argument("--object", required=True)
    fu.add_argument("--min", type=float, default=0.05)
    fu.add_argument("file_n1")
    fu.add_argument("file_n2")
    co = sub.add_parser("compare")
    co.add_argument("--n1", type=int, required=True)
    co.add_argument("--n2", type=int, required=True)
    co.add_argument("--min", type=float, default=1.0)
    co.add_argument("a_n1")
    co.add_argument("a_n2")
    co.add_argument("b_n1")
    co.add_argument("b_n2")
    po = sub.add_parser("policy")
    po.add_argument("--n1", type=int, required=True)
    po.add_argument("--n2", type=int, required=True)
    po.add_argument("cases", nargs="+")
    args = ap.parse_args()
    if args.cmd == "policy":
        cmd_policy(args)
    elif args.cmd == "compare":
        cmd_compare(args)
    elif args.cmd == "total":
        print(total(args.file))
    elif args.cmd == "table":
        cmd_table(args)
    else:
        cmd_functions(args)


if __name__ == "__main__":
    main()
