#!/usr/bin/env bash
# Installs what mailwarden's tests and demo need on Debian 12: a C compiler
# (aws-lc-rs), the openssl CLI, real mail servers (Postfix, Dovecot IMAP/POP3/
# ManageSieve) and small protocol clients used as independent witnesses in tests.
# Needs root. Idempotent. Does not start or enable any service: the test
# harness starts private instances on loopback high ports.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-debian.sh: run as root (sudo $0)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; we configure private instances ourselves.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends \
  build-essential pkg-config ca-certificates curl git \
  openssl socat swaks gnutls-bin python3 \
  postfix dovecot-imapd dovecot-pop3d dovecot-managesieved
# The packages' own daemons are not needed (and no systemd runs here to start them).
