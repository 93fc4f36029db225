"""A strict reader of the Prometheus text format 0.0.4 for the tests, written to check
the module's own promises (one HELP/TYPE per family, families never split, histograms
cumulative with +Inf == _count, no duplicate series), which promtool does not check."""

import math
import re

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


class ExpositionError(AssertionError):
    pass


def _unescape(v):
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v):
            n = v[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(n, "\\" + n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _labels(text, lineno):
    labels, pos = {}, 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if not m:
            raise ExpositionError(f"line {lineno}: bad labels {text!r}")
        name, value = m.group(1), _unescape(m.group(2))
        if name in labels:
            raise ExpositionError(f"line {lineno}: label {name} twice")
        labels[name] = value
        pos = m.end()
    return labels


def _family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
            return name[: -len(suffix)]
    return name


class Exposition:
    """Parsed samples: .samples is {(name, frozenset(labels.items())): value},
    .types is {family: type}."""

    def __init__(self, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8")  # raises on invalid UTF-8: that is a failure too
        self.text = text
        self.types, self.helps, self.samples = {}, {}, {}
        self.order = []
        finished = set()
        current = None
        for lineno, line in enumerate(text.split("\n"), 1):
            if line == "":
                continue
            if line.startswith("# HELP ") or line.startswith("# TYPE "):
                parts = line.split(" ", 3)
                family = parts[2]
                table = self.helps if parts[1] == "HELP" else self.types
                if family in table:
                    raise ExpositionError(f"line {lineno}: second {parts[1]} for {family}")
                if family in finished:
                    raise ExpositionError(f"line {lineno}: family {family} split")
                table[family] = parts[3] if len(parts) > 3 else ""
                if current != family:
                    if current is not None:
                        finished.add(current)
                    current = family
                    self.order.append(family)
                continue
            if line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            if not m:
                raise ExpositionError(f"line {lineno}: not a sample: {line!r}")
            name, labels = m.group(1), _labels(m.group(3) or "", lineno)
            family = _family_of(name, self.types)
            if family != current:
                raise ExpositionError(f"line {lineno}: {name} outside its family block")
            value = float(m.group(4))
            key = (name, frozenset(labels.items()))
            if key in self.samples:
                raise ExpositionError(f"line {lineno}: duplicate series {line!r}")
            self.samples[key] = value
        self._check_histograms()

    def _check_histograms(self):
        for family, kind in self.types.items():
            if kind != "histogram":
                continue
            series = {}
            for (name, labels), value in self.samples.items():
                if name == family + "_bucket":
                    d = dict(labels)
                    le = d.pop("le")
                    series.setdefault(frozenset(d.items()), []).append(
                        (math.inf if le == "+Inf" else float(le), value))
            for labels, buckets in series.items():
                buckets.sort()
                if buckets[-1][0] != math.inf:
                    raise ExpositionError(f"{family}{dict(labels)}: no +Inf bucket")
                counts = [v for _, v in buckets]
                if counts != sorted(counts):
                    raise ExpositionError(f"{family}{dict(labels)}: buckets not cumulative {buckets}")
                count = self.samples.get((family + "_count", labels))
                if count != buckets[-1][1]:
                    raise ExpositionError(f"{family}{dict(labels)}: +Inf {buckets[-1][1]} != _count {count}")
                if (family + "_sum", labels) not in self.samples:
                    raise ExpositionError(f"{family}{dict(labels)}: no _sum")

    def get(self, name, default=None, **labels):
        return self.samples.get((name, frozenset(labels.items())), default)

    def value(self, name, **labels):
        v = self.get(name, **labels)
        if v is None:
            raise KeyError(f"no sample {name}{labels}")
        return v

    def series(self, name):
        """[(labels dict, value)] of every sample called `name`."""
        return [(dict(l), v) for (n, l), v in self.samples.items() if n == name]

    def total(self, name, **match):
        return sum(v for labels, v in self.series(name)
                   if all(labels.get(k) == w for k, w in match.items()))

    def buckets(self, family, **labels):
        """{le: cumulative count} of one histogram series."""
        out = {}
        for l, v in self.series(family + "_bucket"):
            le = l.pop("le")
            if l == labels:
                out[math.inf if le == "+Inf" else float(le)] = v
        return out

    def label_values(self):
        return {v for (_, labels) in self.samples for (_, v) in labels}


def scrape(ng, port="http", settle=True, path="/metrics"):
    """The module's exposition from nginx instance `ng` (a pulse_harness.Nginx), once
    every request the client saw answered is counted: nginx counts a request after
    sending its answer, and the scrape may reach another worker first. A request leaves
    the in-flight gauge only after it was counted, so in-flight 0 means all are in."""
    import pulse_harness as ph

    def once():
        status, headers, body = ph.http_get(ng.url(port, path))
        assert status == 200, body
        assert headers.first("content-type").startswith("text/plain; version=0.0.4")
        return Exposition(body)

    if not settle:
        return once()
    # A render walks the series newest first without a lock: a series that a finishing
    # request creates while a render runs can be missed by it while the in-flight gauge,
    # read later in the walk, already shows the request done. The scrape after one that
    # saw nothing in flight started after every such series existed.
    ph.wait_for(lambda: once().total("nginx_http_requests_in_flight") == 0,
                message="no request in flight")
    return once()
