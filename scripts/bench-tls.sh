#!/usr/bin/env bash
# TLS enumeration benchmark: mailwarden against testssl.sh, sslscan and sslyze
# on the same local endpoints of the test bed (real Postfix, Dovecot, Exim).
# Not a test and never run in CI: it prints numbers.
#
#   scripts/bench-tls.sh                       # RUNS=5 timed runs (testssl, sslyze: SLOW_RUNS=1)
#   RUNS=3 SLOW_RUNS=3 scripts/bench-tls.sh
#   TOOLS="mailwarden sslscan" ENDPOINTS="smtp-mx exim-mx" scripts/bench-tls.sh
#
# Installs what is missing: testssl.sh, sslscan and tcpdump from Debian,
# sslyze from PyPI into a virtualenv under the target directory. Starts the
# test bed, then for each endpoint (STARTTLS SMTP on Postfix `smtp-mx`,
# IMAPS on Dovecot `imaps`, STARTTLS POP3 on Dovecot `pop3-starttls`,
# STARTTLS SMTP on Exim `exim-mx`, whose smtp_accept_max is Exim's default 20)
# and each tool prints: the median wall time, its ratio to mailwarden's, the
# TCP connections it made (counted from a capture on lo: one per client port
# that sent a SYN to the endpoint), the server's load refusals (421) during
# the run from the server's own log, the accepted suites per version and
# whether they equal mailwarden's (what differs is listed by IANA name).
#
# The invocations (full enumeration in each, STARTTLS where needed, each
# tool's default parallelism):
#   mailwarden scan IP --ports PORT/ROLE --tls full --format json (release build)
#   sslscan [--starttls-smtp|--starttls-pop3] --xml=FILE IP:PORT
#   sslyze --sslv2 --sslv3 --tlsv1 --tlsv1_1 --tlsv1_2 --tlsv1_3 --elliptic_curves
#          [--starttls smtp|pop3] --json_out FILE IP:PORT
#   testssl -p -E [-t smtp|pop3] --jsonfile FILE IP:PORT
# mailwarden does more than any of them in that time: the dialog and a
# modern handshake with certificate checks, groups, curves, key types, DH
# sizes, server order, renegotiation, compression, EMS, ETM, tickets,
# stapling, fallback SCSV, Heartbleed.
#
# For Postfix and Dovecot it also prints a floor: what the server alone
# needs for as many connections as mailwarden made, 8 at a time, each doing
# only the STARTTLS dialog, one fixed ClientHello and reading the first
# flight (scripts/bench/floor.py). No tool that needs that many connections
# can be faster than the floor.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench-tls.sh: run as root (the test bed and tcpdump need it)" >&2; exit 2; }

TARGET=${CARGO_TARGET_DIR:-target}
OUT=${OUT:-$TARGET/bench-tls}
mkdir -p "$OUT"

missing=()
command -v testssl >/dev/null || missing+=(testssl.sh)
command -v sslscan >/dev/null || missing+=(sslscan)
command -v tcpdump >/dev/null || missing+=(tcpdump)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} ..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
venv="$OUT/venv"
if [ ! -x "$venv/bin/sslyze" ]; then
    echo "installing sslyze (PyPI) into $venv ..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q sslyze
fi

cargo build --release --locked -q --bin mailwarden
cargo build --locked -q -p mailwarden-testbed --bin mailwarden-testbed

work=$(mktemp -d)
fifo="$work/stdin"
mkfifo "$fifo"
# The test bed runs until its stdin closes: keep the fifo open on fd 3.
"$TARGET/debug/mailwarden-testbed" up --json <"$fifo" >"$work/testbed.json" 2>"$work/testbed.err" &
tb_pid=$!
exec 3>"$fifo"
cleanup() { exec 3>&-; wait "$tb_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 600); do
    [ -s "$work/testbed.json" ] && break
    kill -0 "$tb_pid" 2>/dev/null || { cat "$work/testbed.err" >&2; exit 1; }
    sleep 0.1
done
[ -s "$work/testbed.json" ] || { echo "bench-tls.sh: the test bed did not start" >&2; exit 1; }

{
    echo "machine: $(nproc) cores, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "mailwarden $("$TARGET/release/mailwarden" --version | awk '{print $2}') (release), $(sslscan --version 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 | sed 's/^/sslscan /'), sslyze $("$venv/bin/pip" show sslyze | awk '/^Version/{print $2}'), testssl.sh $(dpkg-query -W -f='${Version}' testssl.sh), $(openssl version | cut -d' ' -f1-2)"
    echo "servers: $(postconf -d mail_version 2>/dev/null | sed 's/mail_version = /Postfix /'), Dovecot $(dovecot --version | cut -d' ' -f1), Exim $(${MAILWARDEN_EXIM:-/opt/mailwarden/exim4/usr/sbin/exim4} -bV 2>/dev/null | sed -n 's/^Exim version \([^ ]*\).*/\1/p')"
} | tee "$OUT/machine.txt"
python3 scripts/bench/bench_tls.py "$work/testbed.json" "$OUT" "$TARGET/release/mailwarden" "$venv/bin/sslyze" | tee "$OUT/table.md"
