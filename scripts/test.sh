#!/usr/bin/env bash
# Runs every test: unit tests, rule tests, and the integration tests that start
# real Postfix and Dovecot on loopback, and Knot and Unbound for the DNS tests
# (needs root and scripts/setup-debian.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
for bin in postfix dovecot openssl knotd unbound ldns-signzone; do
  command -v "$bin" >/dev/null || [ -x "/usr/sbin/$bin" ] || { echo "test.sh: $bin is missing: run sudo scripts/setup-debian.sh first" >&2; exit 2; }
done
cargo test --workspace --locked "$@"
