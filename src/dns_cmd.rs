//! `mailwarden dns DOMAIN`: a mail domain's DNS posture (MX, SRV, SPF,
//! DMARC, DKIM, MTA-STS, TLS-RPT, DANE, DNSSEC, FCrDNS), and the domain part
//! of `mailwarden scan DOMAIN`: discovery of the MX and SRV hosts, their scan,
//! and the DANE / MTA-STS checks of the chains they presented.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use mailwarden_dns::mtasts::FetchSettings;
use mailwarden_dns::{DomainSettings, Resolver, ResolverSettings};
use mailwarden_model::{
    Assessment, Attempt, DnssecMode, DomainObservation, FailureKind, SCHEMA_ID, ScanOptions,
    ScanReport, TargetResult, ToolInfo,
};
use mailwarden_probe::{EndpointSpec, Prober, TlsSettings};

use crate::cli::{Format, ReportArgs};
use crate::scan::{Probing, emit, exit_code, render};

#[path = "dns_text.rs"]
mod text;

/// Who decides the DNSSEC status of answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum DnssecChoice {
    /// mailwarden validates signatures itself, from the trust anchor.
    #[default]
    Validate,
    /// The resolver validates: its AD bit means secure (use with a trusted
    /// validating resolver on the path, e.g. a local Unbound).
    Upstream,
}

/// DNS options shared by `dns`, `spf`, `scan` and `audit`; the default is
/// the system resolver, validating from the root anchor.
#[derive(Debug, Clone, Default, Args)]
pub struct DnsOptions {
    /// Name server to ask, as ADDR:PORT (default: the system's, from /etc/resolv.conf).
    #[arg(long, value_name = "ADDR:PORT")]
    pub resolver: Option<SocketAddr>,

    /// DNSSEC trust anchor: DNSKEY records in zone-file format (default: the root's).
    #[arg(long, value_name = "FILE")]
    pub trust_anchor: Option<PathBuf>,

    /// Who decides DNSSEC status: `validate` (mailwarden, from the trust
    /// anchor) or `upstream` (the resolver's AD bit).
    #[arg(long, value_enum, default_value_t = DnssecChoice::Validate, value_name = "MODE")]
    pub dnssec: DnssecChoice,

    /// A DKIM selector to check (repeatable), before a few common names.
    #[arg(long = "dkim-selector", value_name = "NAME")]
    pub dkim_selectors: Vec<String>,

    /// An address that sends mail for the domain (repeatable): SPF must authorize it.
    #[arg(long, value_name = "ADDR")]
    pub outbound: Vec<IpAddr>,

    /// Connect to another port than the one DNS implies, `FROM=TO`
    /// (comma-separated or repeated): `25=10025` for MX hosts, `443=8443`
    /// for the MTA-STS policy host, an SRV port for SRV targets. For test
    /// beds and port-forwarded setups; default: the ports DNS implies.
    #[arg(long, value_delimiter = ',', value_name = "FROM=TO")]
    pub port_map: Vec<String>,
}

/// `mailwarden dns`.
#[derive(Debug, Args)]
pub struct DnsArgs {
    /// Mail domains.
    #[arg(required = true, value_name = "DOMAIN")]
    pub domains: Vec<String>,

    /// DNS options.
    #[command(flatten)]
    pub dns: DnsOptions,

    /// Extra trust anchors (PEM) for the MTA-STS policy host, added to the Mozilla roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Seconds allowed for each DNS question and network step.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub timeout: f64,

    /// Where and how to report.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// A port mapping from `--port-map`.
#[derive(Debug, Clone, Default)]
pub struct PortMap(Vec<(u16, u16)>);

impl PortMap {
    /// Parses `FROM=TO` entries.
    pub fn parse(entries: &[String]) -> anyhow::Result<PortMap> {
        let mut out = Vec::new();
        for e in entries {
            let (from, to) = e
                .split_once('=')
                .with_context(|| format!("--port-map: {e:?} is not FROM=TO (e.g. 25=10025)"))?;
            let parse = |s: &str| match s.trim().parse::<u16>() {
                Ok(p) if p > 0 => Ok(p),
                _ => bail!("--port-map: {s:?} in {e:?} is not a port number between 1 and 65535"),
            };
            out.push((parse(from)?, parse(to)?));
        }
        Ok(PortMap(out))
    }

    /// The port to connect to for `port`.
    pub fn map(&self, port: u16) -> u16 {
        self.0
            .iter()
            .find(|(from, _)| *from == port)
            .map_or(port, |(_, to)| *to)
    }
}

/// Everything a domain observation needs, built from the options.
pub struct DomainRun {
    pub resolver: Resolver,
    pub settings: DomainSettings,
    pub ports: PortMap,
}

impl DomainRun {
    /// Builds the resolver (inside the runtime) and the settings.
    pub fn new(
        opts: &DnsOptions,
        tls: TlsSettings,
        timeout: Duration,
    ) -> anyhow::Result<DomainRun> {
        let ports = PortMap::parse(&opts.port_map)?;
        let resolver = Resolver::new(&ResolverSettings {
            server: opts.resolver,
            trust_anchor: opts.trust_anchor.clone(),
            mode: match opts.dnssec {
                DnssecChoice::Validate => DnssecMode::Validate,
                DnssecChoice::Upstream => DnssecMode::UpstreamAd,
            },
            timeout,
        })?;
        let settings = DomainSettings {
            dkim_selectors: opts.dkim_selectors.clone(),
            outbound: opts.outbound.clone(),
            fetch: FetchSettings {
                tls,
                port: ports.map(443),
                timeout,
            },
        };
        Ok(DomainRun {
            resolver,
            settings,
            ports,
        })
    }

    /// Observes one domain.
    pub async fn observe(&self, domain: &str) -> DomainObservation {
        mailwarden_dns::domain::observe(&self.resolver, domain, &self.settings).await
    }
}

pub fn run(args: DnsArgs) -> anyhow::Result<ExitCode> {
    if !(args.timeout > 0.0 && args.timeout <= 600.0) {
        bail!("--timeout must be between 0 and 600 seconds");
    }
    let timeout = Duration::from_secs_f64(args.timeout);
    let mut anchors = mailwarden_cert::TrustAnchors::mozilla();
    if let Some(path) = &args.ca_file {
        anchors = anchors
            .with_ca_file(path)
            .with_context(|| format!("--ca-file {}", path.display()))?;
    }
    let runtime = crate::scan::runtime()?;
    let started_at = jiff::Timestamp::now();
    let domains = runtime.block_on(async {
        let run = DomainRun::new(&args.dns, TlsSettings::new(anchors), timeout)?;
        let mut out = Vec::new();
        for d in &args.domains {
            out.push(run.observe(d).await);
        }
        anyhow::Ok(out)
    })?;
    let mut report = ScanReport {
        schema: SCHEMA_ID.to_owned(),
        tool: ToolInfo {
            name: "mailwarden".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        started_at,
        finished_at: jiff::Timestamp::now(),
        options: ScanOptions {
            ports: Vec::new(),
            timeout_ms: timeout.as_millis() as u64,
            concurrency: 1,
            per_host_concurrency: 1,
            ca_file: args.ca_file.as_ref().map(|p| p.display().to_string()),
            name: None,
        },
        targets: Vec::new(),
        endpoints: Vec::new(),
        domains,
        assessment: Assessment::default(),
    };
    let ctx = mailwarden_rules::AssessContext::new(report.started_at)
        .with_domains(report.domains.clone());
    report.assessment = mailwarden_rules::assess(&report.endpoints, &report.targets, &ctx);
    let out = with_dns_section(&args.report, &report, render(&args.report, &report));
    emit(&args.report, &out)?;
    Ok(exit_code(args.report.fail_on, &report.assessment.findings))
}

/// Text reports get the DNS section after the rest; other formats carry the
/// domains in their own way (JSON: `domains`).
pub fn with_dns_section(args: &ReportArgs, report: &ScanReport, rendered: String) -> String {
    if args.format != Format::Text || report.domains.is_empty() {
        return rendered;
    }
    let mut out = rendered;
    for d in &report.domains {
        out.push('\n');
        out.push_str(&text::domain(d));
        out.push_str(&text::findings(d, report));
    }
    out
}

/// The mail domains among `scan`'s targets, and how to observe them.
pub struct ScanDomains {
    run: Option<DomainRun>,
    domains: Vec<String>,
}

/// Splits `scan`'s targets: with `--domain` every name is a mail domain;
/// otherwise a name that does not resolve as a host but has MX records (or
/// a null MX) is one. Hosts and IP literals are scanned exactly as before.
pub async fn prepare(
    args: &crate::cli::ScanArgs,
    probing: &Probing,
) -> anyhow::Result<ScanDomains> {
    let timeout = probing.config.timeout;
    let mut candidates = Vec::new();
    for t in &args.targets {
        if t.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() {
            continue;
        }
        if args.domain
            || mailwarden_probe::resolve(t, timeout)
                .await
                .value()
                .is_none()
        {
            candidates.push(t.clone());
        }
    }
    if candidates.is_empty() {
        return Ok(ScanDomains {
            run: None,
            domains: Vec::new(),
        });
    }
    let run = match DomainRun::new(&args.dns, probing.tls.clone(), timeout) {
        Ok(run) => run,
        // Without --domain nothing asked for DNS: scan the names as hosts,
        // as before, and let resolution report what it finds.
        Err(_) if !args.domain => {
            return Ok(ScanDomains {
                run: None,
                domains: Vec::new(),
            });
        }
        Err(e) => return Err(e),
    };
    let mut domains = Vec::new();
    for t in candidates {
        let mx = run
            .resolver
            .lookup(&t, mailwarden_dns::RecordType::MX)
            .await;
        if args.domain || !mx.data.is_empty() {
            domains.push(t);
        }
    }
    Ok(ScanDomains {
        run: Some(run),
        domains,
    })
}

impl ScanDomains {
    /// True when `target` is scanned as a mail domain.
    pub fn is_domain(&self, target: &str) -> bool {
        self.domains.iter().any(|d| d == target)
    }

    /// Observes and scans the domains into `report`.
    pub async fn scan(&self, probing: &Probing, report: &mut ScanReport) {
        if let Some(run) = &self.run {
            scan_domains(run, probing, &self.domains, report).await;
        }
    }
}

/// Observes each domain, scans every MX host on port 25 (or its mapping)
/// and every SRV target on its port, at every address, and adds it all to
/// `report` (targets, endpoints, domains).
pub async fn scan_domains(
    run: &DomainRun,
    probing: &Probing,
    domains: &[String],
    report: &mut ScanReport,
) {
    let prober = Arc::new(Prober::new(probing.config.clone(), probing.tls.clone()));
    for d in domains {
        let mut obs = run.observe(d).await;
        let mut specs = Vec::new();
        for found in mailwarden_dns::discovered(&obs) {
            let port = run.ports.map(found.port);
            let resolution = if found.addresses.is_empty() {
                Attempt::failed(
                    FailureKind::Unresolvable,
                    format!("{} has no A or AAAA record in DNS", found.host),
                )
            } else {
                Attempt::completed(found.addresses.clone())
            };
            if !report.targets.iter().any(|t| t.input == found.host) {
                report.targets.push(TargetResult {
                    input: found.host.clone(),
                    check_name: found.host.clone(),
                    resolution,
                });
            }
            for ip in &found.addresses {
                let address = SocketAddr::new(*ip, port);
                if report.endpoints.iter().any(|e| e.address == address)
                    || specs.iter().any(|s: &EndpointSpec| s.address == address)
                {
                    continue;
                }
                specs.push(EndpointSpec {
                    target: found.host.clone(),
                    address,
                    role: Some(found.role),
                    check_name: found.host.clone(),
                });
            }
        }
        let endpoints = prober.probe_all(specs, |_| {}).await;
        report.endpoints.extend(endpoints);
        mailwarden_dns::attach_scan(&mut obs, &report.endpoints, &|p| run.ports.map(p));
        for e in &report.endpoints {
            if !report.options.ports.contains(&e.address.port()) {
                report.options.ports.push(e.address.port());
            }
        }
        report.domains.push(obs);
    }
    report.finished_at = jiff::Timestamp::now();
}

/// `audit`: observes the policy's `[dns] domains` (DKIM selectors from the
/// policy and `--dkim-selector`), checks DANE and MTA-STS against the
/// endpoints the audit scanned, and adds them to `report`.
pub async fn observe_declared(
    opts: &DnsOptions,
    declared: &mailwarden_policy::Dns,
    probing: &Probing,
    report: &mut ScanReport,
) -> anyhow::Result<()> {
    if declared.domains.is_empty() {
        return Ok(());
    }
    let mut opts = opts.clone();
    for s in &declared.dkim_selectors {
        if !opts.dkim_selectors.contains(s) {
            opts.dkim_selectors.push(s.clone());
        }
    }
    let run = DomainRun::new(&opts, probing.tls.clone(), probing.config.timeout)?;
    for d in &declared.domains {
        let mut obs = run.observe(d).await;
        mailwarden_dns::attach_scan(&mut obs, &report.endpoints, &|p| run.ports.map(p));
        report.domains.push(obs);
    }
    Ok(())
}
