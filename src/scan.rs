//! `mailwarden scan`: resolve targets, probe every port of every address,
//! judge, report.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mailwarden_model::{
    Assessment, Attempt, DEFAULT_PORTS, SCHEMA_ID, ScanOptions, ScanReport, ServiceRole,
    TargetResult, ToolInfo,
};
use mailwarden_probe::{ConnectPolicy, EndpointSpec, ProbeConfig, Prober, TlsSettings};

use crate::cli::{ColorChoice, Format, ProbeArgs, ReportArgs, ScanArgs};

/// A port to probe and the role it is judged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    pub port: u16,
    pub role: Option<ServiceRole>,
}

/// Parses `--ports` entries: `25`, `10025/smtp`, `2525/submission`.
pub fn parse_ports(entries: &[String]) -> anyhow::Result<Vec<PortSpec>> {
    if entries.is_empty() {
        return Ok(DEFAULT_PORTS
            .iter()
            .map(|&port| PortSpec {
                port,
                role: ServiceRole::for_port(port),
            })
            .collect());
    }
    let mut out: Vec<PortSpec> = Vec::new();
    for entry in entries {
        let entry = entry.trim();
        let (port_text, role_text) = match entry.split_once('/') {
            Some((p, r)) => (p, Some(r)),
            None => (entry, None),
        };
        let port: u16 = match port_text.parse() {
            Ok(p) if p > 0 => p,
            _ => bail!("--ports: {entry:?} is not a port number between 1 and 65535"),
        };
        let role = match role_text {
            None => ServiceRole::for_port(port),
            Some(r) => Some(ServiceRole::parse(r).with_context(|| {
                let names: Vec<_> = ServiceRole::ALL.iter().map(|r| r.as_str()).collect();
                format!(
                    "--ports: unknown role {r:?} in {entry:?}; roles: {}",
                    names.join(", ")
                )
            })?),
        };
        if out.iter().any(|p| p.port == port) {
            bail!("--ports: port {port} is listed twice");
        }
        out.push(PortSpec { port, role });
    }
    Ok(out)
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let ports = parse_ports(&args.ports)?;
    let probing = Probing::from_args(&args.probe)?;
    let runtime = runtime()?;
    let dns = runtime.block_on(crate::dns_cmd::prepare(&args, &probing))?;
    let plan = args
        .targets
        .iter()
        .filter(|t| !dns.is_domain(t))
        .map(|target| Planned {
            target: target.clone(),
            check_name: mailwarden_probe::check_name_for(target, args.name.as_deref()),
            ports: ports.iter().map(|p| (*p, None)).collect(),
        })
        .collect();
    let mut report = runtime.block_on(probe(&probing, plan, args.name.clone(), args.report.quiet));
    runtime.block_on(dns.scan(&probing, &mut report));
    let ctx = mailwarden_rules::AssessContext::new(report.started_at)
        .with_domains(report.domains.clone());
    report.assessment = mailwarden_rules::assess(&report.endpoints, &report.targets, &ctx);
    let code = exit_code(args.report.fail_on, &report.assessment.findings);
    let stored = crate::history_cmd::record(
        &args.report.store,
        mailwarden_store::RunKind::Scan,
        &report,
        None,
        code,
    );
    emit(
        &args.report,
        &crate::dns_cmd::with_dns_section(&args.report, &report, render(&args.report, &report)),
    )?;
    stored?;
    Ok(code)
}

/// The probe's configuration and trust anchors, from the shared options.
pub struct Probing {
    pub config: ProbeConfig,
    pub tls: TlsSettings,
    pub ca_file: Option<String>,
}

impl Probing {
    pub fn from_args(args: &ProbeArgs) -> anyhow::Result<Probing> {
        if !(args.timeout > 0.0 && args.timeout <= 3600.0) {
            bail!("--timeout must be between 0 and 3600 seconds");
        }
        if args.concurrency == 0 || args.per_host == 0 {
            bail!("--concurrency and --per-host must be at least 1");
        }
        if !(args.rate >= 0.0 && args.rate <= 1e6) {
            bail!("--rate must be between 0 (no limit) and 1000000 connections per second");
        }
        let per_host_interval = if args.rate == 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(1.0 / args.rate)
        };
        let timeout = Duration::from_secs_f64(args.timeout);
        let mut anchors = mailwarden_cert::TrustAnchors::mozilla();
        if let Some(path) = &args.ca_file {
            anchors = anchors
                .with_ca_file(path)
                .with_context(|| format!("--ca-file {}", path.display()))?;
        }
        let config = ProbeConfig {
            timeout,
            silent_wait: timeout.min(Duration::from_secs(3)),
            connect: ConnectPolicy {
                concurrency: args.concurrency,
                per_host_concurrency: args.per_host,
                per_host_interval,
                connect_timeout: timeout,
            },
            tls_scan: args.tls.scan_mode(),
            ..ProbeConfig::default()
        };
        Ok(Probing {
            config,
            tls: TlsSettings::new(anchors),
            ca_file: args.ca_file.as_ref().map(|p| p.display().to_string()),
        })
    }
}

/// One target to probe: its ports, each with its role and, when it differs
/// from the target's, the name its certificate is checked against.
pub struct Planned {
    pub target: String,
    pub check_name: String,
    pub ports: Vec<(PortSpec, Option<String>)>,
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Resolves and probes every planned target; the report's assessment is
/// left empty for the caller to judge.
pub async fn probe(
    probing: &Probing,
    plan: Vec<Planned>,
    name: Option<String>,
    quiet: bool,
) -> ScanReport {
    let started_at = jiff::Timestamp::now();
    let config = probing.config.clone();
    let mut all_ports: Vec<u16> = Vec::new();
    for p in plan.iter().flat_map(|t| &t.ports) {
        if !all_ports.contains(&p.0.port) {
            all_ports.push(p.0.port);
        }
    }
    let options = ScanOptions {
        ports: all_ports,
        timeout_ms: config.timeout.as_millis() as u64,
        concurrency: config.connect.concurrency,
        per_host_concurrency: config.connect.per_host_concurrency,
        ca_file: probing.ca_file.clone(),
        name,
    };
    let mut targets = Vec::new();
    let mut specs = Vec::new();
    for planned in plan {
        let resolution = mailwarden_probe::resolve(&planned.target, config.timeout).await;
        if let Attempt::Completed { value: ips } = &resolution {
            for ip in ips {
                for (p, check_name) in &planned.ports {
                    specs.push(EndpointSpec {
                        target: planned.target.clone(),
                        address: std::net::SocketAddr::new(*ip, p.port),
                        role: p.role,
                        check_name: check_name
                            .clone()
                            .unwrap_or_else(|| planned.check_name.clone()),
                    });
                }
            }
        }
        targets.push(TargetResult {
            input: planned.target,
            check_name: planned.check_name,
            resolution,
        });
    }
    let progress = progress_bar(quiet, specs.len());
    let prober = Arc::new(Prober::new(config, probing.tls.clone()));
    let endpoints = prober
        .probe_all(specs, |obs| {
            progress.set_message(format!("{} {}", obs.address, obs.state.as_str()));
            progress.inc(1);
        })
        .await;
    progress.finish_and_clear();
    ScanReport {
        schema: SCHEMA_ID.to_owned(),
        tool: ToolInfo {
            name: "mailwarden".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        started_at,
        finished_at: jiff::Timestamp::now(),
        options,
        targets,
        endpoints,
        domains: Vec::new(),
        assessment: Assessment::default(),
    }
}

pub fn progress_bar(quiet: bool, total: usize) -> ProgressBar {
    // Only on a terminal: scripts and CI get a clean stderr.
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{pos}/{len}] {elapsed} {wide_msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Exit status 1 when a finding reaches `fail_on`, else 0.
pub fn exit_code(
    fail_on: Option<mailwarden_model::Severity>,
    findings: &[mailwarden_model::Finding],
) -> ExitCode {
    let worst = findings.iter().map(|f| f.severity).max();
    match (fail_on, worst) {
        (Some(threshold), Some(w)) if w >= threshold => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// True when text output gets colour.
fn use_color(args: &ReportArgs) -> bool {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// The report in the chosen format.
pub fn render(args: &ReportArgs, report: &ScanReport) -> String {
    render_run(args, report, false)
}

/// The report in the chosen format; `audit` adds the DRIFT rules to JUnit's test cases.
pub fn render_run(args: &ReportArgs, report: &ScanReport, audit: bool) -> String {
    match args.format {
        Format::Json => mailwarden_report::render_json(report),
        Format::Sarif => mailwarden_report::render_sarif(report),
        Format::Markdown => mailwarden_report::render_markdown(report),
        Format::Html => mailwarden_report::render_html(report),
        Format::Junit => mailwarden_report::render_junit(
            report,
            &mailwarden_report::JunitOptions {
                threshold: args.fail_on.unwrap_or(mailwarden_model::Severity::Low),
                audit,
            },
        ),
        Format::Text => mailwarden_report::render_text(
            report,
            &mailwarden_report::TextOptions {
                color: use_color(args),
                width: None,
            },
        ),
    }
}

/// Writes `text` to `--output` (atomically) or standard output.
pub fn emit(args: &ReportArgs, text: &str) -> anyhow::Result<()> {
    match &args.output {
        Some(path) => {
            // Write to a temporary file first: a failed run never leaves half a report.
            let tmp = path.with_extension("partial");
            std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .context("writing to standard output")?;
            out.flush().context("writing to standard output")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_specs() {
        let p = parse_ports(&[
            "25".into(),
            "10025/smtp".into(),
            "2525".into(),
            "9999".into(),
        ])
        .unwrap();
        assert_eq!(
            p[0],
            PortSpec {
                port: 25,
                role: Some(ServiceRole::Smtp)
            }
        );
        assert_eq!(
            p[1],
            PortSpec {
                port: 10025,
                role: Some(ServiceRole::Smtp)
            }
        );
        assert_eq!(
            p[2],
            PortSpec {
                port: 2525,
                role: Some(ServiceRole::Submission)
            }
        );
        assert_eq!(
            p[3],
            PortSpec {
                port: 9999,
                role: None
            }
        );
        assert!(parse_ports(&["0".into()]).is_err());
        assert!(
            parse_ports(&["25/http".into()])
                .unwrap_err()
                .to_string()
                .contains("unknown role")
        );
        assert!(parse_ports(&["25".into(), "25".into()]).is_err());
        assert_eq!(parse_ports(&[]).unwrap().len(), 9);
    }
}
