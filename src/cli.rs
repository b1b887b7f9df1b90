//! The command line, declared once: help text and parsing come from here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Audit the security posture of mail entry points: SMTP, submission, IMAP,
/// POP3 and ManageSieve, their TLS, certificates and authentication.
#[derive(Debug, Parser)]
#[command(name = "mailwarden", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe the mail ports of hosts and report their posture and findings.
    Scan(ScanArgs),
    /// List the rule catalogue, or explain one rule.
    Rules(RulesArgs),
    /// Read mail server logs and report scanning, brute force, spraying,
    /// relay probing, TLS and protocol abuse, per source and across ports.
    Logs(crate::logs_cmd::LogsArgs),
    /// Scan what a policy file declares and report drift from it (undeclared
    /// ports, services down, TLS modes, baseline, certificates).
    Audit(crate::audit_cmd::AuditArgs),
    /// Check a policy file, or write a starting one from a scan.
    Policy(crate::policy_cmd::PolicyArgs),
    /// Report a mail domain's DNS posture: MX, SRV, SPF, DMARC, DKIM,
    /// MTA-STS, TLS-RPT, DANE, DNSSEC and reverse DNS.
    Dns(crate::dns_cmd::DnsArgs),
    /// Evaluate SPF for one client address and sender (RFC 7208 check_host).
    Spf(crate::spf_cmd::SpfArgs),
    /// List the stored runs (every scan and audit is recorded), or print one
    /// run's report again in any format.
    History(crate::history_cmd::HistoryArgs),
    /// Show what changed between two runs: ports opened and closed, postures,
    /// TLS, certificates renewed or replaced, findings new and fixed.
    Diff(crate::diff_cmd::DiffArgs),
    /// Audit a policy on a schedule, store each run, print the changes as JSON
    /// lines, POST them to a webhook, and serve Prometheus metrics.
    Watch(crate::watch_cmd::WatchArgs),
}

/// Output format of reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table and findings for people.
    Text,
    /// The documented JSON schema (`docs/scan-json.md`).
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// JUnit XML for CI: one test case per rule and endpoint; findings at or
    /// above `--fail-on` (default: low) fail.
    Junit,
    /// Markdown for a ticket: posture tables, findings with evidence.
    Markdown,
    /// One self-contained HTML page: posture matrix, findings, certificate
    /// expiry timeline.
    Html,
}

/// How much TLS enumeration `scan` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsMode {
    /// Every version, suite, group and feature (about accepted + 1 probes per version).
    Full,
    /// One probe per weak suite class and per question: a handful per port.
    Quick,
    /// None: only the modern handshake of the scan.
    Off,
}

impl TlsMode {
    /// The probe's setting.
    pub fn scan_mode(self) -> Option<mailwarden_model::TlsScanMode> {
        match self {
            TlsMode::Full => Some(mailwarden_model::TlsScanMode::Full),
            TlsMode::Quick => Some(mailwarden_model::TlsScanMode::Quick),
            TlsMode::Off => None,
        }
    }
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `mailwarden scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Host names or IP literals (IPv6 as `::1` or `[::1]`).
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Ports to probe, comma-separated. `PORT/ROLE` declares the service a
    /// non-standard port provides, so it is judged in that context
    /// (roles: smtp, submission, submissions, imap, imaps, pop3, pop3s, sieve, lmtp).
    /// Default: 25,465,587,110,995,143,993,4190,2525.
    #[arg(long, value_delimiter = ',', value_name = "PORT[/ROLE]")]
    pub ports: Vec<String>,

    /// Check certificates against this name instead of the target (e.g. when scanning an IP).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Treat every target as a mail domain: discover its MX and SRV hosts,
    /// scan each of their addresses, and report the domain's DNS posture.
    /// Without it, a name that does not resolve as a host but has MX
    /// records is a mail domain; hosts and IPs are scanned as they are.
    #[arg(long)]
    pub domain: bool,

    /// DNS options for mail domains.
    #[command(flatten)]
    pub dns: crate::dns_cmd::DnsOptions,

    /// How to probe.
    #[command(flatten)]
    pub probe: ProbeArgs,

    /// Where and how to report.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Network options shared by `scan`, `audit` and `policy init`.
#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    /// Extra trust anchors (PEM), added to the Mozilla roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Seconds allowed for each network step (connect, reply, handshake).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,

    /// Connections open at once, all hosts together.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,

    /// Connections open at once to one host (mail servers throttle busy
    /// clients), counting those the server is known to keep busy after we
    /// left (Exim: 0.5 s after a failed TLS handshake). Halved for the rest
    /// of the run when the host refuses service for load (421).
    #[arg(long, default_value_t = 8)]
    pub per_host: usize,

    /// New connections per second to one host, sustained, after a burst of
    /// 128 (one port's whole TLS enumeration); 0: no limit beyond
    /// --per-host. After the host refuses service for load (421): no burst,
    /// 20 per second or fewer.
    #[arg(long, default_value_t = 50.0, value_name = "PER_SECOND")]
    pub rate: f64,

    /// TLS enumeration of every port that reaches TLS: `full` lists every
    /// version, suite (with server order), group, certificate key type and
    /// feature; `quick` asks each security question (versions, NULL,
    /// anonymous, EXPORT, RC4, DES, 3DES, no forward secrecy, DH size,
    /// renegotiation, compression, fallback SCSV, Heartbleed) with a
    /// handful of probes; `off` only makes the modern handshake.
    #[arg(long, value_enum, default_value_t = TlsMode::Full, value_name = "MODE")]
    pub tls: TlsMode,
}

/// Output options shared by `scan` and `audit`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit with status 1 when a finding at or above this severity exists
    /// (info, low, medium, high, critical).
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<mailwarden_model::Severity>,

    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// No progress indicator on standard error.
    #[arg(long)]
    pub quiet: bool,

    /// Where the run is recorded.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// The history store, shared by `scan`, `audit`, `history`, `diff` and `watch`.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The history database. Default: `$XDG_DATA_HOME/mailwarden/history.sqlite`,
    /// else `~/.local/share/mailwarden/history.sqlite`.
    #[arg(long, value_name = "PATH", env = "MAILWARDEN_STORE")]
    pub store: Option<PathBuf>,

    /// Do not record this run in the history (wins over --store and
    /// MAILWARDEN_STORE).
    #[arg(long)]
    pub no_store: bool,
}

/// `mailwarden rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A rule id (MW-AUTH-001) or name (auth-offered-before-tls) to explain.
    pub rule: Option<String>,

    /// Print the catalogue as Markdown (the text of docs/rules.md).
    #[arg(long)]
    pub markdown: bool,
}

pub fn parse_severity(s: &str) -> Result<mailwarden_model::Severity, String> {
    mailwarden_model::Severity::parse(s)
        .ok_or_else(|| format!("unknown severity {s:?}: use info, low, medium, high or critical"))
}
