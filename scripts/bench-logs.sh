#!/usr/bin/env bash
# Throughput and detection benchmark: `mailwarden logs` against Debian's
# fail2ban-regex (postfix filter in aggressive mode, dovecot filter) on the
# same generated log. Not a test: it prints numbers.
#
#   scripts/bench-logs.sh            # 1,000,000 lines in target/bench-logs/
#   LINES=200000 scripts/bench-logs.sh
#
# Prints, for each tool: wall time, lines per second, peak memory (RSS from
# /usr/bin/time -v), and which of the generator's known attackers it caught.
# fail2ban-regex only lists matching lines; "caught" for it applies Debian's
# default jail policy (maxretry = 5 matches within findtime = 10 min per address).
set -euo pipefail
cd "$(dirname "$0")/.."

LINES=${LINES:-1000000}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=${OUT:-$TARGET/bench-logs}
mkdir -p "$OUT"

if ! command -v fail2ban-regex >/dev/null; then
    echo "installing fail2ban (for fail2ban-regex)..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fail2ban >/dev/null
fi
if [ ! -x /usr/bin/time ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi

cargo build --release --locked -q -p mailwarden-logs --example gen-bench-log
cargo build --release --locked -q --bin mailwarden
"$TARGET/release/examples/gen-bench-log" "$OUT/mail.log" "$LINES" "$OUT/truth.json"

run() {
    local name=$1
    shift
    echo "running $name ..." >&2
    /usr/bin/time -v -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
}
# Several runs of mailwarden (it is short, and on a shared machine noise
# matters): the median is reported, all runs are printed.
RUNS=${RUNS:-7}
for i in $(seq "$RUNS"); do
    run "mailwarden-$i" "$TARGET/release/mailwarden" logs --format json "$OUT/mail.log"
done
run f2b-postfix fail2ban-regex --print-all-matched "$OUT/mail.log" "postfix[mode=aggressive]"
run f2b-dovecot fail2ban-regex --print-all-matched "$OUT/mail.log" dovecot

python3 - "$OUT" "$LINES" "$RUNS" <<'PY'
import ipaddress, json, re, sys
from collections import defaultdict
from datetime import datetime

out, lines, nruns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def timing(name):
    text = open(f"{out}/{name}.time").read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    parts = [float(p) for p in wall.split(":")]
    secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    cpu = sum(float(re.search(rf"{k} time \(seconds\): (\S+)", text).group(1)) for k in ("User", "System"))
    return secs, rss, cpu

# mailwarden: the last JSON line is {"summary": [...], "stats": {...}}
last = open(f"{out}/mailwarden-1.out").read().strip().splitlines()[-1]
summary = json.loads(last)["summary"]
mw = {s["source"]: s["alerts"] for s in summary}

# fail2ban: matched lines, then Debian's default jail policy per address.
stamp = re.compile(r"^\|  (\w{3} +\d+ \d\d:\d\d:\d\d) ")
host = re.compile(r"rip=([0-9a-fA-F:.]+)|\[((?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F]*:[0-9a-fA-F:.]+)\]")
def banned(name):
    hits = defaultdict(list)
    matched = 0
    for line in open(f"{out}/{name}.out", errors="replace"):
        m = stamp.match(line)
        if not m:
            continue
        h = host.search(line)
        if not h:
            continue
        matched += 1
        t = datetime.strptime("2026 " + m.group(1), "%Y %b %d %H:%M:%S").timestamp()
        hits[h.group(1) or h.group(2)].append(t)
    out_ = set()
    for ip, ts in hits.items():
        ts.sort()
        for i in range(len(ts) - 4):
            if ts[i + 4] - ts[i] <= 600:
                out_.add(ip)
                break
    return out_, matched

f2b = {}
for name in ["f2b-postfix", "f2b-dovecot"]:
    f2b[name] = banned(name)

def members(src):
    if "-" in src.split(".")[-1]:
        base, rng = src.rsplit(".", 1)
        a, b = rng.split("-")
        return [f"{base}.{i}" for i in range(int(a), int(b) + 1)]
    return [src]

def in_net(ip, src):
    if "/" in src:
        try:
            return ipaddress.ip_address(ip) in ipaddress.ip_network(src)
        except ValueError:
            return False
    return ip in members(src)

truth = json.load(open(f"{out}/truth.json"))
print()
print(f"Input: {lines:,} lines ({out}/mail.log), one day of Postfix and Dovecot syslog.")
print()
print(f"{'tool':<42} {'wall s':>8} {'lines/s':>12} {'peak RSS':>10}")
rows = [("mailwarden logs (all detectors), median", "mailwarden"),
        ("fail2ban-regex postfix[aggressive]", "f2b-postfix"),
        ("fail2ban-regex dovecot", "f2b-dovecot")]
t = {}
runs = sorted((timing(f"mailwarden-{i}") for i in range(1, nruns + 1)), key=lambda r: r[0])
print("mailwarden runs (wall s): " + ", ".join(f"{r[0]:.2f}" for r in runs)
      + f"; CPU (user+sys) median {sorted(r[2] for r in runs)[nruns // 2]:.2f} s")
for label, name in rows:
    secs, rss, _ = runs[nruns // 2] if name == "mailwarden" else timing(name)
    t[name] = secs
    print(f"{label:<42} {secs:>8.2f} {lines / secs:>12,.0f} {rss / 1024:>8.1f} MB")
both = t["f2b-postfix"] + t["f2b-dovecot"]
print(f"{'fail2ban-regex, both filters':<42} {both:>8.2f} {lines / both:>12,.0f}")
print()
print(f"Speed-up: {t['f2b-postfix'] / t['mailwarden']:.0f}x the postfix filter alone, "
      f"{t['f2b-dovecot'] / t['mailwarden']:.0f}x the dovecot filter alone, "
      f"{both / t['mailwarden']:.0f}x both filters (what the two jails cost).")
print()
print(f"{'known attacker':<22} {'expected':<24} {'mailwarden':<40} fail2ban (default jails)")
caught_mw = caught_f2b = 0
for a in truth:
    src = a["source"]
    mw_hits = sorted({d for s, ds in mw.items() for d in ds
                      if s == src or s in members(src) or ("/" in src and s == src)})
    got = [s for s in mw if s == src or s in members(src) or in_net(s.split("/")[0], src)]
    mw_text = ", ".join(mw_hits) if mw_hits else "missed"
    if got and a["expected"] in mw_hits:
        caught_mw += 1
        mw_text += f" ({len(got)} source{'s' if len(got) > 1 else ''})"
    jails = []
    for name, (ips, _) in f2b.items():
        n = sum(1 for ip in ips if in_net(ip, src))
        if n:
            jails.append(f"{name[4:]} ({n})")
    if jails:
        caught_f2b += 1
    print(f"{src:<22} {a['expected']:<24} {mw_text:<40} {', '.join(jails) or 'missed'}")
    print(f"{'':<22} {a['does']}")
known = lambda s: any(s == a["source"] or s in members(a["source"]) or in_net(s.split("/")[0], a["source"]) for a in truth)
fp_mw = sorted(s for s in mw if not known(s))
fp_f2b = sorted(ip for ips, _ in f2b.values() for ip in ips if not known(ip))
print()
print(f"caught: mailwarden {caught_mw}/{len(truth)}, fail2ban {caught_f2b}/{len(truth)}")
print(f"other sources listed: mailwarden {len(fp_mw)} {fp_mw[:10]}, fail2ban {len(fp_f2b)} {fp_f2b[:10]}")
print(f"fail2ban matched lines: postfix {f2b['f2b-postfix'][1]:,}, dovecot {f2b['f2b-dovecot'][1]:,}")
PY
