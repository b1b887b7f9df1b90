#!/usr/bin/env bash
# Runs every test: unit tests, rule tests, and the integration tests that start
# real Postfix and Dovecot on loopback (needs root and scripts/setup-debian.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
for bin in postfix dovecot openssl; do
  command -v "$bin" >/dev/null || { echo "test.sh: $bin is missing: run sudo scripts/setup-debian.sh first" >&2; exit 2; }
done
cargo test --workspace --locked "$@"
