#!/usr/bin/env python3
"""devices_truth.py: what an honest device count and the ISP reports must say
about a lab run of several epochs, from the truth files truth-0.json ..
truth-E.json (tests/lab/README.md, "Ground truth"), and checks of vantage's
output against it. Used by test_cluster_devices.sh.

  devices_truth.py expect  --truth-dir DIR --epochs N
      prints the expected figures as one JSON object (for the test's notes)
  devices_truth.py world   --truth-dir DIR --epochs N
      checks the world can test what it should (shared defaults detectable);
      exit 1 with the reason when not
  devices_truth.py rows    --truth-dir DIR --epochs N --windows W0,W1,.. ROWS
      the store's rows (vantage query --format jsonl) hold, per window, exactly
      the open (ip, port) pairs of the devices online in that epoch
  devices_truth.py count   --truth-dir DIR --epochs N --windows W0,.. COUNT
      checks the object of vantage query --count devices --format jsonl
  devices_truth.py report  --truth-dir DIR --epochs N --by prefix/L|asn
                           [--pfx2as FILE] REPORT
      checks vantage report --format jsonl: per group, exactly the exposed
      services of the devices in it (every open (ip, port) of the period, once),
      and one summary per group that counts them and their addresses

Every check prints one line per disagreement (at most 10 of a kind) and exits
1 if there is any, 0 otherwise; 2 for bad usage or unreadable input.

A device counts when it was online in at least one epoch with an open port
(every port of the lab is scanned). Its identifier is one the project's rules
extract (hw.serial, host.mac) when its type is in EXTRACTED: Hikvision's serial
in its telnet greeting (rules/telnet_banners.xml), HP's in its Server header
(rules/http_servers.xml) and the MAC in Axis's realm (rules/http_wwwauth.xml).
Vivotek's X-Device-MAC header is named by no rule.
"""
import argparse
import ipaddress
import json
import sys

EXTRACTED = {"hikvision-ipc", "axis-m1034", "hp-officejet-8610"}
# An identifier on this many addresses in one window is a shared default to the
# coordinator (VT_SHARED_MIN, coordinator/coord.h); on fewer it looks like one
# device with several addresses, and no count could tell.
SHARED_MIN = 3
MAX_LINES = 10


def load_truths(d, n):
    truths = []
    for e in range(n):
        path = "%s/truth-%d.json" % (d, e)
        try:
            with open(path) as f:
                t = json.load(f)
        except (OSError, ValueError) as err:
            print("devices_truth: cannot read %s: %s" % (path, err), file=sys.stderr)
            sys.exit(2)
        if t.get("epoch") != e:
            print("devices_truth: %s is epoch %s, not %d" % (path, t.get("epoch"), e), file=sys.stderr)
            sys.exit(2)
        truths.append(t)
    return truths


def read_jsonl(path):
    out = []
    try:
        with open(path) as f:
            for i, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except ValueError as err:
                    print("devices_truth: %s:%d: not JSON: %s" % (path, i, err), file=sys.stderr)
                    sys.exit(2)
    except OSError as err:
        print("devices_truth: cannot read %s: %s" % (path, err), file=sys.stderr)
        sys.exit(2)
    return out


class World:
    """The figures of a run of len(truths) epochs, one campaign each."""

    def __init__(self, truths):
        self.truths = truths
        n = len(truths)
        last = truths[-1]
        self.devices = {d["id"]: d for d in last["devices"]}
        # Per epoch: the online devices' open pairs and addresses.
        self.open_pairs = []  # epoch -> set of (ip, port)
        self.hosts = []  # epoch -> set of ip
        self.services = []  # epoch -> {(ip, port): service}
        self.counted = set()  # ids online with an open port in some epoch
        for e, t in enumerate(truths):
            pairs, hosts, svcs = set(), set(), {}
            for d in t["devices"]:
                if not d["online"] or not d["open_ports"]:
                    continue
                self.counted.add(d["id"])
                hosts.add(d["address"])
                for s in d["services"]:
                    pairs.add((d["address"], s["port"]))
                    svcs[(d["address"], s["port"])] = (d, s)
            self.open_pairs.append(pairs)
            self.hosts.append(hosts)
            self.services.append(svcs)
        self.distinct_ips = set().union(*self.hosts) if n else set()
        ident = [self.devices[i] for i in self.counted if self.devices[i]["type"] in EXTRACTED]
        self.identified = {d["id"] for d in ident if not d["identifier_shared"]}
        # Shared defaults of extracted types, with how many of their devices were
        # online (with an open port) at once at best.
        self.shared = {}
        for d in ident:
            if d["identifier_shared"]:
                self.shared.setdefault(d["identifier"], []).append(d["id"])
        # Per epoch, the identified devices online; and the churn of those seen
        # in two epochs or more: the share whose address changed, the share
        # whose addresses are not all in one /24 (docs/estimator.md, "Churn").
        self.identified_online = [sum(1 for i in self.identified if t["devices"][i]["online"]) for t in truths]
        self.churn_base = self.churn_changed = self.churn_crossed = 0
        for i in self.identified:
            addrs = [t["devices"][i]["address"] for t in truths if t["devices"][i]["online"]]
            if len(addrs) < 2:
                continue
            self.churn_base += 1
            self.churn_changed += len(set(addrs)) > 1
            self.churn_crossed += len({a.rsplit(".", 1)[0] for a in addrs}) > 1
        self.shared_together = {}
        for value, ids in self.shared.items():
            best = 0
            for e, t in enumerate(truths):
                on = sum(1 for i in ids if t["devices"][i]["online"])
                best = max(best, on)
            self.shared_together[value] = best

    def expect(self):
        return {
            "epochs": len(self.truths),
            "hosts": [len(h) for h in self.hosts],
            "distinct_ips": len(self.distinct_ips),
            "devices": len(self.counted),
            "identified_devices": len(self.identified),
            "identified": self.identified_online,
            "churn": {"devices": self.churn_base, "changed_address": self.churn_changed,
                      "crossed_prefix": self.churn_crossed},
            "shared_defaults": sum(1 for v in self.shared_together.values() if v >= SHARED_MIN),
            "shared_devices": sum(len(v) for v in self.shared.values()),
            "services": len(self.exposed()),
        }

    def exposed(self):
        """(ip, port) of every open service of an online device, over all epochs:
        what the report calls a service (docs/operator-guide.md)."""
        return set().union(*self.open_pairs)


class Problems:
    def __init__(self):
        self.n = 0
        self.kinds = {}

    def add(self, kind, msg):
        self.n += 1
        k = self.kinds.get(kind, 0)
        self.kinds[kind] = k + 1
        if k < MAX_LINES:
            print(msg)
        elif k == MAX_LINES:
            print("%s: more of these left out" % kind)

    def done(self):
        return 1 if self.n else 0


def windows_arg(s, n):
    try:
        w = [int(x) for x in s.split(",")]
    except ValueError:
        w = []
    if len(w) != n or len(set(w)) != n:
        print("devices_truth: --windows wants %d distinct window numbers, not '%s'" % (n, s), file=sys.stderr)
        sys.exit(2)
    return w


def cmd_world(w, _args):
    p = Problems()
    if not w.shared:
        p.add("world", "no shared default of a type whose identifier the rules extract: raise --shared-ids")
    for value, best in sorted(w.shared_together.items()):
        if best < SHARED_MIN:
            p.add("world", "the shared default %s was online on at most %d devices at once, so it looks "
                  "like one device: pick another seed" % (value, best))
    if len(w.distinct_ips) < 1.5 * len(w.counted):
        p.add("world", "%d addresses for %d devices: not enough churn to inflate the naive count"
              % (len(w.distinct_ips), len(w.counted)))
    if not any(len(h) < 0.9 * len(w.counted) for h in w.hosts):
        p.add("world", "every epoch has nearly every device online: availability hides too few")
    return p.done()


def cmd_rows(w, args):
    p = Problems()
    windows = windows_arg(args.windows, len(w.truths))
    got = {win: set() for win in windows}
    for r in read_jsonl(args.file):
        if r.get("state") != "open":
            continue
        win = r.get("window")
        if win not in got:
            p.add("window", "a row in window %s, which no campaign started in: %s" % (win, json.dumps(r)[:200]))
            continue
        got[win].add((r["ip"], r["port"]))
    for e, win in enumerate(windows):
        want = w.open_pairs[e]
        for ip, port in sorted(want - got[win]):
            p.add("missed", "epoch %d (window %d): %s:%d open in the truth, not in the store" % (e, win, ip, port))
        for ip, port in sorted(got[win] - want):
            p.add("extra", "epoch %d (window %d): %s:%d in the store, not open in the truth" % (e, win, ip, port))
    return p.done()


def cmd_count(w, args):
    p = Problems()
    windows = windows_arg(args.windows, len(w.truths))
    objs = read_jsonl(args.file)
    if len(objs) != 1:
        print("devices_truth: %s holds %d objects, want one" % (args.file, len(objs)), file=sys.stderr)
        return 2
    c = objs[0]
    want = w.expect()
    try:
        got_windows = {x["window"]: x for x in c["windows"]}
        for e, win in enumerate(windows):
            x = got_windows.get(win)
            if x is None:
                p.add("windows", "window %d (epoch %d) is not in the count's windows %s"
                      % (win, e, sorted(got_windows)))
            elif x["hosts"] != want["hosts"][e]:
                p.add("hosts", "window %d (epoch %d): hosts %s, the truth has %d online devices"
                      % (win, e, x["hosts"], want["hosts"][e]))
            elif x["identified"] != want["identified"][e]:
                p.add("identified", "window %d (epoch %d): identified %s, the truth has %d devices online "
                      "showing their own serial or MAC" % (win, e, x["identified"], want["identified"][e]))
        for win in sorted(set(got_windows) - set(windows)):
            p.add("windows", "the count has window %d, in which no campaign started" % win)
        if c["distinct_ips"] != want["distinct_ips"]:
            p.add("distinct_ips", "distinct_ips %s, the truth's union of addresses is %d"
                  % (c["distinct_ips"], want["distinct_ips"]))
        if not c["distinct_ips"] >= 1.5 * want["devices"]:
            p.add("distinct_ips", "distinct_ips %s is not clearly above the %d devices (churn should inflate it)"
                  % (c["distinct_ips"], want["devices"]))
        lo, hi, est = c["devices_low"], c["devices_high"], c["devices_estimate"]
        if not lo <= want["devices"] <= hi:
            p.add("interval", "the %d devices of the truth are outside [devices_low %s, devices_high %s]"
                  % (want["devices"], lo, hi))
        if abs(est - want["devices"]) > 0.03 * want["devices"]:
            p.add("estimate", "devices_estimate %s is more than 3%% off the truth's %d devices"
                  % (est, want["devices"]))
        if c["identified_devices"] != want["identified_devices"]:
            p.add("identified", "identified_devices %s, the truth has %d devices showing their own %s"
                  % (c["identified_devices"], want["identified_devices"], "serial or MAC"))
        ch, wc = c["churn"], want["churn"]
        if ch["devices"] != wc["devices"]:
            p.add("churn", "churn.devices %s, the truth has %d identified devices online in two epochs or more"
                  % (ch["devices"], wc["devices"]))
        elif wc["devices"]:
            # crossed_prefix is over /prefix_len; the truth's is over /24.
            keys = ["changed_address"] + (["crossed_prefix"] if ch["prefix_len"] == 24 else [])
            for key in keys:
                if abs(ch[key] - wc[key] / wc["devices"]) > 1e-9:
                    p.add("churn", "churn.%s %s, the truth's share is %d of %d"
                          % (key, ch[key], wc[key], wc["devices"]))
        if not c["shared_defaults"] >= 1:
            p.add("shared", "shared_defaults %s: the %d devices showing a default were not recognised"
                  % (c["shared_defaults"], want["shared_devices"]))
    except (KeyError, TypeError) as err:
        p.add("format", "the count object lacks or mistypes %s: %s" % (err, json.dumps(c)[:300]))
    return p.done()


def load_pfx2as(path):
    """The lab's test file: prefix, length, origins; comments and bad lines skipped."""
    table = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0].startswith("#") or len(parts) != 3:
                continue
            try:
                net = ipaddress.ip_network("%s/%s" % (parts[0], parts[1]))
                origins = [int(a) for a in parts[2].replace(",", "_").split("_")]
            except ValueError:
                continue
            table.append((net, origins))
    return table


def asn_groups(table, ip):
    """The origins of the longest prefix holding ip (each a group: a
    multi-origin prefix's services are listed under each), or ["unrouted"]."""
    addr = ipaddress.ip_address(ip)
    best = None
    for net, origins in table:
        if addr in net and (best is None or net.prefixlen > best[0].prefixlen):
            best = (net, origins)
    return ["unrouted"] if best is None else [str(a) for a in best[1]]


def group_of_row(row, by):
    """The group a report row names, as a string (an ASN, or a prefix CIDR)."""
    v = row.get("asn" if by == "asn" else "prefix")
    return None if v is None else str(v)


def cmd_report(w, args):
    p = Problems()
    rows = read_jsonl(args.file)
    if args.by == "asn":
        if not args.pfx2as:
            print("devices_truth: --by asn wants --pfx2as", file=sys.stderr)
            return 2
        table = load_pfx2as(args.pfx2as)
        groups = lambda ip: asn_groups(table, ip)
    elif args.by.startswith("prefix/"):
        bits = int(args.by.split("/", 1)[1])
        groups = lambda ip: [str(ipaddress.ip_network("%s/%d" % (ip, bits), strict=False))]
    else:
        print("devices_truth: --by prefix/N or asn, not %s" % args.by, file=sys.stderr)
        return 2
    want = {}
    for ip, port in w.exposed():
        for g in groups(ip):
            want.setdefault(g, set()).add((ip, port))
    got, summaries = {}, {}
    for r in rows:
        g = group_of_row(r, args.by)
        if r.get("summary") is True:
            if g in summaries:
                p.add("summary", "two summaries for %s" % g)
            summaries[g] = r
            continue
        if g is None:
            p.add("format", "a row names no %s: %s" % (args.by, json.dumps(r)[:200]))
            continue
        key = (r.get("ip"), r.get("port"))
        if key in got.get(g, set()):
            p.add("duplicate", "%s: %s:%s listed twice" % (g, key[0], key[1]))
        got.setdefault(g, set()).add(key)
        if g not in groups(key[0]):
            p.add("group", "%s:%s is listed under %s, the truth puts it in %s"
                  % (key[0], key[1], g, ", ".join(groups(key[0]))))
    for g in sorted(set(want) | set(got), key=str):
        for ip, port in sorted(want.get(g, set()) - got.get(g, set())):
            p.add("missed", "%s: exposed service %s:%d of the truth not reported" % (g, ip, port))
        for ip, port in sorted(got.get(g, set()) - want.get(g, set())):
            p.add("extra", "%s: %s:%s reported, not an exposed service of the truth" % (g, ip, port))
        if g in want and g not in summaries:
            p.add("summary", "no summary line for %s" % g)
        elif g in want:
            sm, svcs = summaries[g], want[g]
            if sm.get("services") != len(svcs) or sm.get("addresses") != len({ip for ip, _ in svcs}):
                p.add("summary", "%s: the summary counts %s services on %s addresses, the truth %d on %d"
                      % (g, sm.get("services"), sm.get("addresses"), len(svcs), len({ip for ip, _ in svcs})))
    for g in sorted(set(summaries) - set(want), key=str):
        p.add("summary", "a summary for %s, which has no exposed service in the truth" % g)
    return p.done()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cmd", choices=["expect", "world", "rows", "count", "report"])
    ap.add_argument("--truth-dir", required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--windows")
    ap.add_argument("--by")
    ap.add_argument("--pfx2as")
    ap.add_argument("file", nargs="?")
    args = ap.parse_intermixed_args()
    if args.epochs < 1:
        ap.error("--epochs must be at least 1")
    if args.cmd in ("rows", "count", "report") and args.file is None:
        ap.error("%s wants a file" % args.cmd)
    if args.cmd in ("rows", "count") and args.windows is None:
        ap.error("%s wants --windows" % args.cmd)
    if args.cmd == "report" and args.by is None:
        ap.error("report wants --by")
    w = World(load_truths(args.truth_dir, args.epochs))
    if args.cmd == "expect":
        print(json.dumps(w.expect()))
        return 0
    return {"world": cmd_world, "rows": cmd_rows, "count": cmd_count, "report": cmd_report}[args.cmd](w, args)


if __name__ == "__main__":
    sys.exit(main())
