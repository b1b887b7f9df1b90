#!/usr/bin/env python3
"""Writes the seed corpora of the log fuzz targets from the real log lines in
crates/logs/tests (string literals that look like log lines), so the fuzzer
starts from what servers write instead of rediscovering the formats.

    python3 fuzz/seeds/extract.py      # rewrites fuzz/seeds/logs_*/

Each parser target gets one file per line of its server and one file with
all of them (sessions span lines); the envelope target one file per line of
every server; the pipeline target one file per test file."""
import json, pathlib, re, shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
TESTS = ROOT / "crates/logs/tests"
OUT = ROOT / "fuzz/seeds"

LITERAL = re.compile(r'r#"(.*?)"#|"((?:[^"\\]|\\.)*)"', re.S)
ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "0": "\0", "r": "\r"}


def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "\n":  # line continuation: skip the newline and leading spaces
                i += 2
                while i < len(s) and s[i] in " \t":
                    i += 1
                continue
            if n == "u" and s[i + 2 : i + 3] == "{":
                end = s.index("}", i)
                out.append(chr(int(s[i + 3 : end], 16)))
                i = end + 1
                continue
            if n == "x":
                out.append(chr(int(s[i + 2 : i + 4], 16)))
                i += 4
                continue
            out.append(ESCAPES.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


LOG_START = re.compile(r"^(<\d{1,3}>|[A-Z][a-z]{2} [ \d]\d \d\d:|\d{4}-\d\d-\d\d[ T]\d\d:|@4000|\{\")")


def server(line):
    if line.startswith("{"):
        try:
            tag = json.loads(line).get("SYSLOG_IDENTIFIER", "")
        except ValueError:
            return None
        line = tag + " " + line
    if "postfix" in line:
        return "postfix"
    if "dovecot" in line or "-login" in line or "auth-worker" in line or re.search(r"\bauth(\(|:)", line):
        return "dovecot"
    if re.search(r" smtpd\[\d+\]: ", line) or "smtp-in" in line:
        return "opensmtpd"
    if "exim" in line or re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line):
        return "exim"
    return None


def main():
    per_server, per_file = {}, {}
    for path in sorted(TESTS.glob("*.rs")):
        for m in LITERAL.finditer(path.read_text()):
            text = m.group(1) if m.group(1) is not None else unescape(m.group(2))
            for line in text.split("\n"):
                # format! placeholders ({ip}, {i:02}) are not real lines; JSON braces are doubled there.
                if not LOG_START.match(line) or re.search(r"\{[a-z_0-9:]*\}", line):
                    continue
                per_file.setdefault(path.stem, []).append(line)
                s = server(line)
                if s:
                    per_server.setdefault(s, []).append(line)
    for d in OUT.glob("logs_*"):
        shutil.rmtree(d)
    def write(target, name, lines):
        d = OUT / target
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_text("".join(l + "\n" for l in lines))
    everything = []
    for s, lines in sorted(per_server.items()):
        lines = list(dict.fromkeys(lines))
        for i, l in enumerate(lines):
            write(f"logs_{s}", f"{i:03}", [l])
        write(f"logs_{s}", "all", lines)
        everything += lines
    for i, l in enumerate(dict.fromkeys(everything)):
        write("logs_envelope", f"{i:03}", [l])
    for name, lines in sorted(per_file.items()):
        write("logs_pipeline", name, list(dict.fromkeys(lines)))
    for d in sorted(OUT.glob("logs_*")):
        files = list(d.iterdir())
        print(f"{d.name}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")


main()
