#!/usr/bin/env python3
"""The TLS enumeration benchmark's driver (run by scripts/bench-tls.sh).

For each endpoint of the running test bed and each tool: N timed runs
(the median is reported), the TCP connections of each run counted from a
packet capture on lo (SYNs to the endpoint's address and port, one per
client source port: what the server saw, 421s included, whatever the
tool's or the server's own bookkeeping), the server's load refusals (421)
from its own log during the run, and the accepted suites per version
compared with mailwarden's.

    bench_tls.py TESTBED_JSON OUT_DIR MAILWARDEN SSLYZE
"""

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

VERSIONS = ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]

# name, scan role for mailwarden, STARTTLS protocol (None: implicit TLS)
ENDPOINTS = [
    ("smtp-mx", "smtp", "smtp"),
    ("imaps", "imaps", None),
    ("pop3-starttls", "pop3", "pop3"),
    ("exim-mx", "smtp", "smtp"),
]

RUNS = int(os.environ.get("RUNS", "5"))
SETTLE = float(os.environ.get("SETTLE", "1.5"))
SLOW_RUNS = int(os.environ.get("SLOW_RUNS", "1"))
TOOLS = os.environ.get("TOOLS", "mailwarden sslscan sslyze testssl").split()
ONLY = os.environ.get("ENDPOINTS", "").split()

# What a server logs when it refuses a client for load.
REFUSALS = re.compile(
    r"refused: too many connections|Connection (concurrency|rate) limit exceeded"
    r"|too many connections from|process_limit .* reached|Maximum number of connections",
    re.I,
)


def main():
    tb_file, out, mailwarden, sslyze = sys.argv[1:5]
    tb = json.load(open(tb_file))
    os.makedirs(out, exist_ok=True)
    names = registry_names()
    rows = []
    for name, role, starttls in ENDPOINTS:
        if ONLY and name not in ONLY:
            continue
        ep = next(e for e in tb["endpoints"] if e["name"] == name)
        log = {"postfix": tb["postfix_log"], "dovecot": tb["dovecot_log"], "exim": tb["exim_log"]}[
            ep["server"]
        ]
        results = {}
        for tool in TOOLS:
            runs = SLOW_RUNS if tool in ("testssl", "sslyze") else RUNS
            cmd, result = command(tool, ep, role, starttls, tb, out, mailwarden, sslyze)
            print(f"== {name}: {tool} x{runs}: {' '.join(cmd)}", file=sys.stderr, flush=True)
            times, conns, refusals, codes = [], [], [], []
            for i in range(runs):
                if os.path.exists(result):
                    os.remove(result)
                # Let the server forget the previous run (Exim counts a
                # child for 0.5 s after a failed handshake; anvil counts).
                time.sleep(SETTLE)
                before = os.path.getsize(log)
                secs, syns, code, err = timed(cmd, ep, f"{out}/{name}-{tool}-{i}")
                times.append(secs)
                conns.append(syns)
                refusals.append(count_refusals(log, before, ep))
                codes.append(code)
                if i == 0:
                    first_err = err
                    suites = parse(tool, result, names)
                    offered = tried(tool, result, names)
            results[tool] = {
                "median_s": statistics.median(times),
                "times": times,
                "connections": statistics.median(conns),
                "connections_all": conns,
                "refusals": max(refusals),
                "exit": codes,
                "stderr": first_err,
                "suites": suites,
                "tried": offered,
            }
        mw = results.get("mailwarden")
        if mw and ep["server"] != "exim":
            # Exim holds a slot 0.5 s after each failed handshake: a
            # floor run would be throttled, and measure that instead.
            results["floor"] = floor(ep, starttls, int(mw["connections"]), out)
        rows.append((name, ep, results))
    dump = []
    for n, e, res in rows:
        tools = {}
        for t, r in res.items():
            lists = {k: {v: sorted(s, key=str) for v, s in r[k].items()} if r[k] else None
                     for k in ("suites", "tried")}
            tools[t] = dict(r, **lists)
        dump.append({"endpoint": n, "addr": e["addr"], "results": tools})
    json.dump(dump, open(f"{out}/results.json", "w"), indent=1)
    report(rows, names)


def floor(ep, starttls, n, out):
    """The server's own cost of n probe connections, 8 at a time (mailwarden's
    per-host cap): floor.py, RUNS times, the median."""
    here = os.path.dirname(os.path.abspath(__file__))
    cmd = ["python3", f"{here}/floor.py", ep["ip"], str(ep["port"]), str(n), "8", starttls or "implicit"]
    print(f"== {ep['name']}: floor x{RUNS}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    times = []
    for _ in range(RUNS):
        time.sleep(SETTLE)
        times.append(float(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout))
    return {"median_s": statistics.median(times), "times": times, "connections": n,
            "connections_all": [n] * len(times), "refusals": 0, "exit": [0], "stderr": "",
            "suites": None, "tried": None}


def command(tool, ep, role, starttls, tb, out, mailwarden, sslyze):
    target = f"{ep['ip']}:{ep['port']}"
    result = f"{out}/{ep['name']}-{tool}.out"
    if tool == "mailwarden":
        cmd = [mailwarden, "scan", ep["ip"], "--ports", f"{ep['port']}/{role}", "--name", "mail.test",
               "--ca-file", tb["ca_file"], "--tls", "full", "--format", "json", "-o", result, "--quiet"]
        if "--no-store" in subprocess.run([mailwarden, "scan", "--help"], capture_output=True, text=True).stdout:
            cmd.append("--no-store")
    elif tool == "sslscan":
        cmd = ["sslscan", "--no-colour", f"--xml={result}"]
        if starttls:
            cmd.append(f"--starttls-{starttls}")
        cmd.append(target)
    elif tool == "sslyze":
        cmd = [sslyze, "--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3",
               "--elliptic_curves", "--json_out", result]
        if starttls:
            cmd += ["--starttls", starttls]
        cmd.append(target)
    elif tool == "testssl":
        cmd = ["testssl", "--quiet", "--warnings", "batch", "--color", "0", "-p", "-E", "--jsonfile", result]
        if starttls:
            cmd += ["-t", starttls]
        cmd.append(target)
    else:
        raise SystemExit(f"unknown tool {tool}")
    return cmd, result


def timed(cmd, ep, stem):
    """Runs cmd under a capture of SYNs to the endpoint; (seconds, connections, exit, stderr tail)."""
    pcap = f"{stem}.pcap"
    filt = (f"tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and dst host {ep['ip']} "
            f"and dst port {ep['port']}")
    cap = subprocess.Popen(["tcpdump", "-i", "lo", "-nn", "-U", "--immediate-mode", "-w", pcap, filt],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = cap.stderr.readline()  # "listening on lo, ..."
    if "listening" not in line:
        raise SystemExit(f"tcpdump did not start: {line}")
    started = time.monotonic()
    run = subprocess.run(cmd, stdout=open(f"{stem}.stdout", "w"), stderr=subprocess.PIPE, text=True)
    secs = time.monotonic() - started
    time.sleep(0.3)
    cap.send_signal(signal.SIGINT)
    _, tail = cap.communicate()
    dropped = re.search(r"(\d+) packets? dropped by kernel", tail)
    if dropped and int(dropped.group(1)) > 0:
        print(f"   warning: tcpdump dropped {dropped.group(1)} packets", file=sys.stderr)
    dump = subprocess.run(["tcpdump", "-nn", "-r", pcap], capture_output=True, text=True).stdout
    ports = {m.group(1) for m in re.finditer(r"IP6? [\d.:a-f]+\.(\d+) > ", dump)}
    os.remove(pcap)
    return secs, len(ports), run.returncode, run.stderr.strip()[-300:]


def count_refusals(log, offset, ep):
    """Load refusals the server logged since offset (for Exim: on this daemon's port)."""
    with open(log, errors="replace") as f:
        f.seek(offset)
        lines = f.read().splitlines()
    port = f":{ep['port']}"
    return sum(1 for l in lines if REFUSALS.search(l) and (ep["server"] != "exim" or port in l))


def registry_names():
    """IANA name (and OpenSSL name) -> code, from mailwarden's registry."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "tls", "data", "tls-suites.csv")
    names = {}
    for row in open(path):
        if row.startswith("#") or row.startswith("code,"):
            continue
        f = row.split(",")
        code = int(f[0], 16)
        names[f[1]] = code
        if f[2]:
            names.setdefault(f[2], code)
    return names


def parse(tool, path, names):
    """{version: set(code)} of the suites the tool reports accepted."""
    out = {v: set() for v in VERSIONS}
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return out
    if tool == "mailwarden":
        report = json.load(open(path))
        for e in report["endpoints"]:
            scan = (e.get("tls_scan") or {}).get("value") or {}
            for v in scan.get("versions", []):
                if v.get("status") == "accepted":
                    out[v["version"]] |= {s["code"] for s in v.get("suites") or []}
    elif tool == "sslscan":
        for c in ET.parse(path).getroot().iter("cipher"):
            ver = c.get("sslversion", "")
            ver = ver if ver in VERSIONS else None
            if ver and c.get("id"):
                out[ver].add(int(c.get("id"), 16))
    elif tool == "sslyze":
        res = json.load(open(path))["server_scan_results"][0].get("scan_result") or {}
        keys = {"ssl_2_0": "SSLv2", "ssl_3_0": "SSLv3", "tls_1_0": "TLSv1.0", "tls_1_1": "TLSv1.1",
                "tls_1_2": "TLSv1.2", "tls_1_3": "TLSv1.3"}
        for key, ver in keys.items():
            r = ((res.get(f"{key}_cipher_suites") or {}).get("result")) or {}
            for s in r.get("accepted_cipher_suites", []):
                name = s["cipher_suite"]["name"]
                code = names.get(name) or names.get(s["cipher_suite"].get("openssl_name", ""))
                out[ver].add(code if code is not None else name)
    elif tool == "testssl":
        keys = {"ssl2": "SSLv2", "ssl3": "SSLv3", "tls1": "TLSv1.0", "tls1_1": "TLSv1.1",
                "tls1_2": "TLSv1.2", "tls1_3": "TLSv1.3"}
        for item in json.load(open(path)):
            m = re.match(r"cipher-(\w+?)_x([0-9a-f]+)$", item.get("id", ""))
            if m and m.group(1) in keys:
                out[keys[m.group(1)]].add(int(m.group(2), 16))
    return out


def tried(tool, path, names):
    """{version: set(code)} of what the tool says it offered (sslyze lists
    the suites it tried and the server rejected); None when unknown."""
    if tool != "sslyze" or not os.path.exists(path):
        return None
    res = json.load(open(path))["server_scan_results"][0].get("scan_result") or {}
    out = {}
    for key, ver in {"ssl_2_0": "SSLv2", "ssl_3_0": "SSLv3", "tls_1_0": "TLSv1.0",
                     "tls_1_1": "TLSv1.1", "tls_1_2": "TLSv1.2", "tls_1_3": "TLSv1.3"}.items():
        r = ((res.get(f"{key}_cipher_suites") or {}).get("result")) or {}
        out[ver] = {names.get(s["cipher_suite"]["name"])
                    for s in r.get("accepted_cipher_suites", []) + r.get("rejected_cipher_suites", [])}
    return out


def openssl_codes():
    """Codes the local OpenSSL (sslscan's and testssl's client) can offer at all."""
    text = subprocess.run(["openssl", "ciphers", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                          capture_output=True, text=True).stdout
    codes = set()
    for m in re.finditer(r"0x([0-9A-F]{2}),0x([0-9A-F]{2})", text):
        codes.add(int(m.group(1) + m.group(2), 16))
    return codes | {0x1301, 0x1302, 0x1303, 0x1304, 0x1305}


def report(rows, names):
    by_code = {}
    for n, c in names.items():
        by_code.setdefault(c, n)
    local = openssl_codes()
    print()
    print("| endpoint | tool | wall s (median) | × mailwarden | connections | 421s | accepted suites per version | same as mailwarden |")
    print("|---|---|---|---|---|---|---|---|")
    notes = []
    for name, ep, results in rows:
        mw = results.get("mailwarden")
        for tool, r in results.items():
            if tool == "floor":
                ratio = f"{r['median_s'] / mw['median_s']:.2f}×" if mw else ""
                print(f"| {name} | floor: {r['connections']} bare probes, 8 at a time | "
                      f"{r['median_s']:.3f} ({len(r['times'])} runs) | {ratio} | {r['connections']} | | | |")
                continue
            counts = ", ".join(f"{v.replace('TLSv', '')}: {len(s)}" for v, s in r["suites"].items() if s) or "none"
            ratio = f"{r['median_s'] / mw['median_s']:.1f}×" if mw and tool != "mailwarden" else ""
            same = ""
            if mw and tool != "mailwarden":
                diffs = []
                for v in VERSIONS:
                    a, b = mw["suites"][v], r["suites"][v]
                    missing, extra = a - b, b - a
                    if missing:
                        diffs.append(f"{v}: missed {len(missing)}")
                        notes.append(f"{name} {tool} {v} missed: " + ", ".join(
                            f"{by_code.get(c, c)}{why(tool, r, v, c, local)}"
                            for c in sorted(missing, key=str)))
                    if extra:
                        diffs.append(f"{v}: {len(extra)} more")
                        notes.append(f"{name} {tool} {v} also reported: " + ", ".join(
                            str(by_code.get(c, c)) for c in sorted(extra, key=str)))
                same = "yes" if not diffs else "; ".join(diffs)
            bad = [c for c in r["exit"] if c not in (0,)]
            errors = f" (exit {bad[0]})" if bad and tool != "mailwarden" else ""
            print(f"| {name} | {tool} | {r['median_s']:.3f} ({len(r['times'])} runs) | {ratio} | "
                  f"{r['connections']:.0f} | {r['refusals']} | {counts}{errors} | {same} |")
    if notes:
        print()
        print("Differences (suites by IANA name):")
        for n in notes:
            print(" -", n)


def why(tool, r, version, code, local):
    """Why a tool may have missed a suite, when its output or client says."""
    if tool in ("sslscan", "testssl") and code not in local:
        # Both offer what the system's OpenSSL 3 can (testssl also some by sockets).
        return " (not in its OpenSSL)"
    if r.get("tried") is not None:
        return " (rejected, says sslyze)" if code in r["tried"].get(version, ()) else " (never offered)"
    return ""


if __name__ == "__main__":
    main()
