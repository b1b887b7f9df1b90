//! The store's SQL schema, as an ordered list of migrations.
//!
//! The schema version is SQLite's `PRAGMA user_version`: version *n* means
//! the first *n* migrations ran. Each migration runs in its own transaction
//! together with the version bump, so a crash leaves the store at one
//! version or the next, never between. Migrations are append-only: a
//! released one is never edited, a change is a new entry.

/// Migration *i* (0-based) brings the store from version *i* to *i + 1*.
pub(crate) const MIGRATIONS: &[&str] = &[V1];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: runs with the full JSON report, and indexed rows per endpoint,
/// finding and certificate.
const V1: &str = r#"
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('scan', 'audit')),
    started_at    TEXT    NOT NULL,            -- RFC 3339, UTC
    finished_at   TEXT    NOT NULL,
    -- The targets scanned, sorted and deduplicated, joined by a space: runs
    -- of "the same targets" share it (the default pair of `diff`).
    target_key    TEXT    NOT NULL,
    targets       TEXT    NOT NULL,            -- JSON array, as given
    policy        TEXT,                        -- the policy file of an audit
    exit_status   INTEGER NOT NULL,
    critical      INTEGER NOT NULL,
    high          INTEGER NOT NULL,
    medium        INTEGER NOT NULL,
    low           INTEGER NOT NULL,
    info          INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL,
    tool_version  TEXT    NOT NULL,
    report_schema TEXT    NOT NULL,            -- e.g. mailwarden/scan/v1
    report        TEXT    NOT NULL             -- the whole JSON report
);
CREATE INDEX runs_by_targets ON runs (target_key, kind, id);
CREATE INDEX runs_by_time ON runs (started_at);

CREATE TABLE endpoints (
    run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    target       TEXT    NOT NULL,
    ip           TEXT    NOT NULL,
    port         INTEGER NOT NULL,
    role         TEXT,
    state        TEXT    NOT NULL,
    protocol     TEXT,
    context      TEXT,
    posture      TEXT,
    tls_version  TEXT,
    cipher_suite TEXT,
    PRIMARY KEY (run_id, target, ip, port)
);
CREATE INDEX endpoints_by_address ON endpoints (ip, port);

CREATE TABLE findings (
    run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,                 -- position in the report
    rule_id  TEXT    NOT NULL,
    rule     TEXT    NOT NULL,
    severity TEXT    NOT NULL,
    target   TEXT    NOT NULL,
    ip       TEXT,
    port     INTEGER,
    context  TEXT    NOT NULL,
    summary  TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX findings_by_rule ON findings (rule_id, severity);

CREATE TABLE certificates (
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    target     TEXT    NOT NULL,
    ip         TEXT    NOT NULL,
    port       INTEGER NOT NULL,
    position   INTEGER NOT NULL,               -- 0 = leaf
    sha256     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    issuer     TEXT    NOT NULL,
    serial     TEXT    NOT NULL,
    not_before TEXT,
    not_after  TEXT,
    PRIMARY KEY (run_id, target, ip, port, position)
);
CREATE INDEX certificates_by_fingerprint ON certificates (sha256);
CREATE INDEX certificates_by_expiry ON certificates (not_after);
"#;
