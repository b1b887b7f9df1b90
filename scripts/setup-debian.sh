#!/usr/bin/env bash
# Installs what mailwarden's tests and demo need on Debian 12: a C compiler
# (aws-lc-rs), the openssl CLI, real mail servers (Postfix, Dovecot IMAP/POP3/
# ManageSieve/LMTP, and Exim unpacked into /opt/mailwarden/exim4: see below) and
# small protocol clients used as independent witnesses in tests.
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
  postfix dovecot-imapd dovecot-pop3d dovecot-managesieved dovecot-lmtpd \
  libidn12 \
  knot unbound ldnsutils
# Headless Chromium renders the HTML report in tests (tests/report_html_chromium.rs).
apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
# The packages' own daemons are not needed (and no systemd runs here to start them).

# Exim next to Postfix. Debian's exim4-daemon-light and postfix cannot both be
# installed (each Conflicts with the mail-transport-agent the other Provides),
# so Exim's binary is unpacked from its package into a private directory and
# the test bed runs it from there (mailwarden-testbed looks in $EXIM_DIR, or
# MAILWARDEN_EXIM). Its one library the system lacks, libidn12, is installed
# above. Re-unpacked only when Debian has a newer version.
EXIM_PKG=exim4-daemon-light
EXIM_DIR=/opt/mailwarden/exim4
exim_version=$(apt-cache policy "$EXIM_PKG" | awk '/Candidate:/ {print $2}')
if [ -z "$exim_version" ] || [ "$exim_version" = "(none)" ]; then
  echo "setup-debian.sh: apt knows no $EXIM_PKG (is apt-get update working?)" >&2
  exit 1
fi
if [ ! -x "$EXIM_DIR/usr/sbin/exim4" ] || [ "$(cat "$EXIM_DIR/VERSION" 2>/dev/null)" != "$exim_version" ]; then
  tmp=$(mktemp -d)
  # apt-get download fetches as _apt, which must be able to write there.
  chown _apt "$tmp" 2>/dev/null || true
  (cd "$tmp" && apt-get download -q "$EXIM_PKG=$exim_version")
  rm -rf "$EXIM_DIR.new"
  mkdir -p "$EXIM_DIR.new"
  dpkg-deb -x "$tmp/${EXIM_PKG}_"*.deb "$EXIM_DIR.new"
  # The package's binary is setuid root; the test bed always starts it as root,
  # so no setuid binary is left outside dpkg's care.
  chmod u-s "$EXIM_DIR.new/usr/sbin/exim4"
  echo "$exim_version" > "$EXIM_DIR.new/VERSION"
  rm -rf "$EXIM_DIR" "$tmp"
  mv "$EXIM_DIR.new" "$EXIM_DIR"
fi
if ldd "$EXIM_DIR/usr/sbin/exim4" | grep 'not found' >&2; then
  echo "setup-debian.sh: $EXIM_DIR/usr/sbin/exim4 misses the libraries above" >&2
  exit 1
fi
# Debian's Exim looks up its account when it starts (EXIM_USER=ref:Debian-exim),
# even for `exim -bV`: create it the way the exim4-base package would.
if ! getent passwd Debian-exim >/dev/null; then
  adduser --system --group --quiet --home /var/spool/exim4 --no-create-home \
    --disabled-login --force-badname Debian-exim
fi
