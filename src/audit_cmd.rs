//! `mailwarden audit --policy FILE`: scan every declared host on every mail
//! port (the policy's `[audit] ports`, every declared and every forbidden
//! port; with `--all-ports`, whatever a connect sweep of 1-65535 finds open),
//! then judge with the rule catalogue and the DRIFT rules against the policy.
//! `--from scan.json` re-judges a stored scan without touching the network.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use mailwarden_model::{Attempt, SCHEMA_ID, ScanReport, ServiceRole};
use mailwarden_policy::Policy;
use mailwarden_probe::{ConnectPolicy, Connector};
use mailwarden_rules::{AssessContext, Judgement};

use crate::cli::{Format, ProbeArgs, ReportArgs};
use crate::scan::{self, Planned, PortSpec, Probing};

/// `mailwarden audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The policy file (TOML; see docs/policy.md).
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,

    /// Re-judge a stored scan (`scan --format json` or `audit --format json`
    /// output) instead of scanning: no network.
    #[arg(long, value_name = "SCAN.json", conflicts_with = "all_ports")]
    pub from: Option<PathBuf>,

    /// Also sweep every TCP port (1-65535) of every declared host with a fast
    /// connect scan, and probe whatever is open for mail protocols.
    #[arg(long)]
    pub all_ports: bool,

    /// Connection attempts in flight per address during `--all-ports`.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub sweep_concurrency: usize,

    /// Check certificates against this name when a service names none
    /// (`certificate_name`) instead of each host's name.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// How to probe.
    #[command(flatten)]
    pub probe: ProbeArgs,

    /// DNS options for the policy's `[dns] domains`.
    #[command(flatten)]
    pub dns: crate::dns_cmd::DnsOptions,

    /// Where and how to report.
    #[command(flatten)]
    pub report: ReportArgs,
}

pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let policy = Arc::new(load_policy(&args.policy)?);
    let mut report = match &args.from {
        Some(path) => stored(path)?,
        None => scan_declared(&args, &policy)?,
    };
    let ctx = AssessContext::new(report.started_at)
        .with_policy(policy.clone())
        .with_domains(report.domains.clone());
    let Judgement {
        assessment,
        suppressed,
    } = mailwarden_rules::judge(&report.endpoints, &report.targets, &ctx);
    report.assessment = assessment;
    let code = scan::exit_code(args.report.fail_on, &report.assessment.findings);
    let policy_path = args.policy.display().to_string();
    let stored = crate::history_cmd::record(
        &args.report.store,
        mailwarden_store::RunKind::Audit,
        &report,
        Some(&policy_path),
        code,
    );
    let mut text = scan::render_run(&args.report, &report, true);
    if args.report.format == Format::Text {
        text = format!("{}{text}", header(&args, &policy, &suppressed));
    }
    let text = crate::dns_cmd::with_dns_section(&args.report, &report, text);
    scan::emit(&args.report, &text)?;
    stored?;
    Ok(code)
}

/// Reads and validates the policy; prints its warnings on standard error.
pub fn load_policy(path: &std::path::Path) -> anyhow::Result<Policy> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the policy file {}", path.display()))?;
    let origin = path.display().to_string();
    let policy =
        mailwarden_rules::parse_policy(&text, &origin).map_err(|e| anyhow::anyhow!("{e}"))?;
    if !policy.warnings.is_empty() {
        eprintln!("{}", policy.render_warnings());
    }
    Ok(policy)
}

fn stored(path: &std::path::Path) -> anyhow::Result<ScanReport> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let report: ScanReport = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a mailwarden JSON report", path.display()))?;
    if report.schema != SCHEMA_ID {
        bail!(
            "{} has schema {:?}; this mailwarden reads {SCHEMA_ID:?}",
            path.display(),
            report.schema
        );
    }
    Ok(report)
}

pub(crate) fn scan_declared(args: &AuditArgs, policy: &Policy) -> anyhow::Result<ScanReport> {
    if args.sweep_concurrency == 0 {
        bail!("--sweep-concurrency must be at least 1");
    }
    let probing = Probing::from_args(&args.probe)?;
    let runtime = scan::runtime()?;
    runtime.block_on(async {
        let mut plan = Vec::new();
        for host in policy.hosts() {
            let mut ports = policy.scan_ports();
            if args.all_ports {
                for port in sweep(host, &probing, args.sweep_concurrency).await {
                    if !ports.contains(&port) {
                        ports.push(port);
                    }
                }
            }
            plan.push(plan_host(host, &ports, policy, args.name.as_deref()));
        }
        let mut report = scan::probe(&probing, plan, args.name.clone(), args.report.quiet).await;
        crate::dns_cmd::observe_declared(&args.dns, &policy.dns, &probing, &mut report).await?;
        Ok(report)
    })
}

/// The ports of one host, each with its declared (else registered) role and
/// the name its certificate is checked against: the service's
/// `certificate_name`; on undeclared ports the one name the host's services
/// agree on, else `--name`, else the host.
fn plan_host(host: &str, ports: &[u16], policy: &Policy, name: Option<&str>) -> Planned {
    let mut names: Vec<&str> = policy
        .services
        .iter()
        .filter(|s| {
            s.hosts
                .iter()
                .any(|h| mailwarden_policy::same_host(h, host))
        })
        .filter_map(|s| s.certificate_name.as_deref())
        .collect();
    names.dedup();
    let host_name = match names.as_slice() {
        [one] => Some(*one),
        _ => name,
    };
    let ports = ports
        .iter()
        .map(|&port| {
            let role = policy
                .role_at(host, port)
                .or_else(|| ServiceRole::for_port(port));
            let check_name = policy
                .service_at(host, port)
                .and_then(|s| s.certificate_name.clone());
            (PortSpec { port, role }, check_name)
        })
        .collect();
    Planned {
        target: host.to_owned(),
        check_name: mailwarden_probe::check_name_for(host, host_name),
        ports,
    }
}

/// Every TCP port of `host`'s addresses that accepts a connection. The sweep
/// opens and closes connections only (nothing is sent), `concurrency` at a
/// time per address through the probe's connector.
async fn sweep(host: &str, probing: &Probing, concurrency: usize) -> Vec<u16> {
    let timeout = probing.config.timeout;
    let Attempt::Completed { value: ips } = mailwarden_probe::resolve(host, timeout).await else {
        return Vec::new();
    };
    let connector = Arc::new(Connector::new(ConnectPolicy {
        concurrency,
        per_host_concurrency: concurrency,
        per_host_interval: Duration::ZERO,
        connect_timeout: timeout.min(Duration::from_secs(2)),
    }));
    let mut open: Vec<u16> = Vec::new();
    for ip in ips {
        open.extend(sweep_address(&connector, ip, concurrency).await);
    }
    open.sort_unstable();
    open.dedup();
    open
}

async fn sweep_address(connector: &Arc<Connector>, ip: IpAddr, window: usize) -> Vec<u16> {
    let mut set = tokio::task::JoinSet::new();
    let mut open = Vec::new();
    for port in 1..=u16::MAX {
        while set.len() >= window {
            if let Some(Ok(Some(p))) = set.join_next().await {
                open.push(p);
            }
        }
        let connector = connector.clone();
        set.spawn(async move {
            // The link is dropped at once: the connection closes without a byte sent.
            connector
                .connect(SocketAddr::new(ip, port))
                .await
                .ok()
                .map(|_link| port)
        });
    }
    while let Some(joined) = set.join_next().await {
        if let Ok(Some(p)) = joined {
            open.push(p);
        }
    }
    open
}

/// The first lines of a text audit: which policy, what was judged, what the
/// overrides suppressed.
fn header(args: &AuditArgs, policy: &Policy, suppressed: &[mailwarden_model::Finding]) -> String {
    let baseline = policy
        .baseline
        .map_or_else(|| "none".to_owned(), |b| b.label());
    let mut out = format!(
        "Audit against {}: {} service{} on {} host{}, baseline {baseline}{}\n",
        args.policy.display(),
        policy.services.len(),
        if policy.services.len() == 1 { "" } else { "s" },
        policy.hosts().len(),
        if policy.hosts().len() == 1 { "" } else { "s" },
        match &args.from {
            Some(p) => format!(", re-judging {}", p.display()),
            None if args.all_ports => ", all ports swept".to_owned(),
            None => String::new(),
        }
    );
    if !suppressed.is_empty() {
        let mut ids: Vec<&str> = suppressed.iter().map(|f| f.rule_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        out.push_str(&format!(
            "{} finding{} suppressed by `allow` overrides ({})\n",
            suppressed.len(),
            if suppressed.len() == 1 { "" } else { "s" },
            ids.join(", ")
        ));
    }
    out.push('\n');
    out
}
