#!/usr/bin/env bash
# The end-to-end demo: starts real Postfix, Dovecot and Exim on loopback high ports
# (private instances, certificates generated now, nothing delivered), then runs
# `mailwarden scan` against every one of their mail listeners and prints the report.
# Needs root and the packages of scripts/setup-debian.sh.
#
#   sudo scripts/setup-debian.sh && sudo scripts/demo.sh [extra mailwarden scan options]
#
# Extra options go to `mailwarden scan`, e.g. `--format json`.
set -euo pipefail
cd "$(dirname "$0")/.."
for bin in postfix dovecot openssl cargo python3; do
  command -v "$bin" >/dev/null || { echo "demo.sh: $bin is missing: run sudo scripts/setup-debian.sh first" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (the mail servers need it)" >&2; exit 2; }

echo "== building mailwarden and the test bed" >&2
cargo build --quiet --bin mailwarden && cargo build --quiet -p mailwarden-testbed --bin mailwarden-testbed
bin=target/debug

work=$(mktemp -d)
fifo="$work/stdin"
mkfifo "$fifo"
# The test bed runs until its stdin closes: keep the fifo open on fd 3 and
# close it on exit, which stops the servers.
"$bin/mailwarden-testbed" up --json <"$fifo" >"$work/testbed.json" 2>"$work/testbed.err" &
tb_pid=$!
exec 3>"$fifo"
cleanup() { exec 3>&-; wait "$tb_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "== starting real Postfix, Dovecot and Exim on 127.0.0.x high ports" >&2
for _ in $(seq 1 600); do
  [ -s "$work/testbed.json" ] && break
  kill -0 "$tb_pid" 2>/dev/null || { cat "$work/testbed.err" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/testbed.json" ] || { echo "demo.sh: the test bed did not start" >&2; cat "$work/testbed.err" >&2; exit 1; }

# One scan per address, each port declared with the role it plays, so that an
# MX is judged as an MX and submission as submission (the real ports are high).
python3 - "$work/testbed.json" >"$work/scans" <<'PY'
import json, sys
tb = json.load(open(sys.argv[1]))
roles = {
    "smtp-mx": "smtp", "smtp-plain": "smtp", "smtp-banner-version": "smtp",
    "submission-enforced": "submission", "submission-auth-before-tls": "submission",
    "smtps": "submissions", "smtp-tls10": "submission", "smtp-expired": "submission",
    "smtp-self-signed": "submission", "smtp-wrong-name": "submission",
    "imap-starttls": "imap", "imap-plain-allowed": "imap", "imaps": "imaps",
    "pop3-plain": "pop3", "pop3s": "pop3s", "pop3-starttls": "pop3", "sieve": "sieve",
    "exim-mx": "smtp", "exim-weak": "smtp",
}
by_ip = {}
for e in tb["endpoints"]:
    if e["name"] in roles:
        by_ip.setdefault(e["ip"], []).append(f'{e["port"]}/{roles[e["name"]]}')
print(tb["ca_file"])
for ip, ports in by_ip.items():
    print(ip, ",".join(ports))
for e in tb["endpoints"]:
    if e["name"] in roles:
        print("#", e["addr"], e["name"], "-", e["description"])
PY
ca=$(head -n1 "$work/scans")
echo "== the test bed (what each listener is set up to do)" >&2
grep '^#' "$work/scans" | sed 's/^# /   /' >&2
status=0
while read -r ip ports; do
  echo
  "$bin/mailwarden" scan "$ip" --ports "$ports" --name mail.test --ca-file "$ca" "$@" || status=$?
done < <(sed -n '2,$p' "$work/scans" | grep -v '^#')
exit "$status"
