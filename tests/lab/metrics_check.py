#!/usr/bin/env python3
"""metrics_check.py FILE: checks a Prometheus text exposition (format 0.0.4)
the way `promtool check metrics` does for what vantage writes, without
Prometheus installed: every sample belongs to a family announced by one
HELP and one TYPE line before it, names are vantage_* in [a-z0-9_], counters
end in _total (and nothing else does), histograms have cumulative buckets
ending in le="+Inf" equal to _count, plus _sum; label values are quoted
with only \\\\, \\" and \\n escapes; values are numbers. Exit 1 with one line
per problem."""
import re
import sys

NAME = re.compile(r"^vantage_[a-z0-9_]*[a-z0-9]$")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def main(path):
    problems = []
    helps, types, seen_samples = {}, {}, {}
    buckets = {}
    text = open(path, encoding="utf-8").read()
    if text and not text.endswith("\n"):
        problems.append("the text does not end in a newline")
    for n, line in enumerate(text.splitlines(), 1):
        where = f"{path}:{n}"
        if line.startswith("# HELP "):
            name = line[7:].split(" ", 1)[0]
            if name in helps:
                problems.append(f"{where}: second HELP for {name}")
            helps[name] = n
            if not NAME.match(name):
                problems.append(f"{where}: bad name {name}")
            continue
        if line.startswith("# TYPE "):
            parts = line[7:].split(" ")
            if len(parts) != 2 or parts[1] not in TYPES:
                problems.append(f"{where}: bad TYPE line")
                continue
            name, typ = parts
            if name in types:
                problems.append(f"{where}: second TYPE for {name}")
            if name not in helps:
                problems.append(f"{where}: TYPE before HELP for {name}")
            types[name] = typ
            if typ == "counter" and not name.endswith("_total"):
                problems.append(f"{where}: counter {name} does not end in _total")
            if typ != "counter" and name.endswith("_total"):
                problems.append(f"{where}: {typ} {name} ends in _total")
            continue
        if line.startswith("#") or not line:
            problems.append(f"{where}: stray line {line!r}")
            continue
        m = SAMPLE.match(line)
        if not m:
            problems.append(f"{where}: not a sample: {line!r}")
            continue
        name, labels, value = m.group(1), m.group(3), m.group(4)
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[: -len(suffix)] in types and \
                    types[name[: -len(suffix)]] in ("histogram", "summary"):
                family = name[: -len(suffix)]
        if family not in types:
            problems.append(f"{where}: sample of {name} without a TYPE before it")
        try:
            v = float(value)
        except ValueError:
            problems.append(f"{where}: value {value!r} is not a number")
            continue
        lab = {}
        if labels:
            pos = 0
            while pos < len(labels):
                lm = LABEL.match(labels, pos)
                if not lm:
                    problems.append(f"{where}: bad labels {labels!r}")
                    break
                lab[lm.group(1)] = lm.group(2)
                pos = lm.end()
        key = (name, tuple(sorted(lab.items())))
        if key in seen_samples:
            problems.append(f"{where}: sample {name}{lab} given twice")
        seen_samples[key] = v
        if name.endswith("_bucket") and family != name:
            buckets.setdefault(family, []).append((lab.get("le"), v))
    for family, bs in buckets.items():
        if not bs or bs[-1][0] != "+Inf":
            problems.append(f"{family}: no le=\"+Inf\" bucket last")
        vals = [v for _, v in bs]
        if vals != sorted(vals):
            problems.append(f"{family}: buckets not cumulative")
        count = seen_samples.get((family + "_count", ()))
        if count is None or (bs and bs[-1][1] != count):
            problems.append(f"{family}: _count missing or not the +Inf bucket")
        if (family + "_sum", ()) not in seen_samples:
            problems.append(f"{family}: no _sum")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
