//! `mailwarden policy check FILE` and `mailwarden policy init HOST...`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use mailwarden_model::{DEFAULT_PORTS, PortState, Posture};
use mailwarden_policy::TlsMode;
use mailwarden_policy::init::{Found, InitOptions};

use crate::cli::ProbeArgs;
use crate::scan::{self, Planned, Probing};

/// `mailwarden policy`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// What to do with a policy file.
    #[command(subcommand)]
    pub command: PolicyCommand,
}

/// `mailwarden policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file: exit 0 when it is usable, 2 with every error
    /// (file:line:col, the line, a hint) when not.
    Check(CheckArgs),
    /// Scan hosts and write a starting policy file from what answers.
    Init(InitArgs),
}

/// `mailwarden policy check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The policy file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `mailwarden policy init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Host names or IP literals to scan.
    #[arg(required = true, value_name = "HOST")]
    pub hosts: Vec<String>,

    /// Ports to probe (`PORT` or `PORT/ROLE`, comma-separated); written to
    /// `[audit] ports` when given. Default: the nine mail ports.
    #[arg(long, value_delimiter = ',', value_name = "PORT[/ROLE]")]
    pub ports: Vec<String>,

    /// Check certificates against this name (written as each service's `certificate_name`).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// The baseline to write.
    #[arg(long, default_value = "rfc8314", value_name = "ID")]
    pub baseline: String,

    /// Write the file here instead of standard output (never over an existing file without --force).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Overwrite --output if it exists.
    #[arg(long)]
    pub force: bool,

    /// No progress indicator.
    #[arg(long)]
    pub quiet: bool,

    /// How to probe (`--tls` defaults to `full`; `off` is enough to find the modes).
    #[command(flatten)]
    pub probe: ProbeArgs,
}

pub fn run(args: PolicyArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        PolicyCommand::Check(a) => check(&a),
        PolicyCommand::Init(a) => init(&a),
    }
}

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let origin = args.file.display().to_string();
    match mailwarden_rules::parse_policy(&text, &origin) {
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(2))
        }
        Ok(policy) => {
            if !policy.warnings.is_empty() {
                eprintln!("{}", policy.render_warnings());
            }
            let overrides = policy.overrides.len()
                + policy
                    .services
                    .iter()
                    .map(|s| s.overrides.len())
                    .sum::<usize>();
            let endpoints: usize = policy
                .services
                .iter()
                .map(|s| s.hosts.len() * s.ports.len())
                .sum();
            println!(
                "{origin}: ok: {} service{} ({endpoints} declared endpoint{}) on {} host{}; {} port{} probed per host; baseline {}; {} override{}; {} warning{}",
                policy.services.len(),
                plural(policy.services.len()),
                plural(endpoints),
                policy.hosts().len(),
                plural(policy.hosts().len()),
                policy.scan_ports().len(),
                plural(policy.scan_ports().len()),
                policy
                    .baseline
                    .map_or_else(|| "none".to_owned(), |b| b.label()),
                overrides,
                plural(overrides),
                policy.warnings.len(),
                plural(policy.warnings.len()),
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn init(args: &InitArgs) -> anyhow::Result<ExitCode> {
    if mailwarden_policy::Baseline::find(&args.baseline).is_none() && args.baseline != "none" {
        bail!(
            "--baseline: unknown baseline {:?}; one of: {}, none",
            args.baseline,
            mailwarden_policy::Baseline::ids().join(", ")
        );
    }
    if let Some(out) = &args.output
        && out.exists()
        && !args.force
    {
        bail!(
            "{} exists: choose another file or pass --force",
            out.display()
        );
    }
    let ports = scan::parse_ports(&args.ports)?;
    let probing = Probing::from_args(&args.probe)?;
    let plan = args
        .hosts
        .iter()
        .map(|host| Planned {
            target: host.clone(),
            check_name: mailwarden_probe::check_name_for(host, args.name.as_deref()),
            ports: ports.iter().map(|p| (*p, None)).collect(),
        })
        .collect();
    let runtime = scan::runtime()?;
    let mut report = runtime.block_on(scan::probe(&probing, plan, args.name.clone(), args.quiet));
    let ctx = mailwarden_rules::AssessContext::new(report.started_at);
    report.assessment = mailwarden_rules::assess(&report.endpoints, &report.targets, &ctx);
    let found: Vec<Found> = report
        .endpoints
        .iter()
        .zip(&report.assessment.endpoints)
        .filter(|(obs, _)| obs.state == PortState::Open)
        .filter_map(|(obs, verdict)| {
            let protocol = obs.protocol?;
            let (before, inside) = mailwarden_rules::auth_offered(obs);
            let tls = TlsMode::of_posture(verdict.posture);
            Some(Found {
                host: obs.target.clone(),
                port: obs.address.port(),
                protocol,
                role: obs.role,
                tls,
                note: (verdict.posture == Posture::TlsBroken || tls.is_none())
                    .then(|| verdict.posture.as_str().to_owned()),
                auth_before_tls: before,
                auth_inside_tls: if tls == Some(TlsMode::Plaintext) {
                    before
                } else {
                    inside
                },
            })
        })
        .collect();
    if found.is_empty() {
        bail!(
            "no mail protocol answered on {} (ports {}): nothing to declare",
            args.hosts.join(", "),
            report
                .options
                .ports
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    let default_ports = report.options.ports == DEFAULT_PORTS;
    let options = InitOptions {
        baseline: args.baseline.clone(),
        audit_ports: (!default_ports).then(|| report.options.ports.clone()),
        certificate_name: args.name.clone(),
        header: format!(
            "Written by mailwarden {} (`policy init`) from a scan of {} at {}.",
            env!("CARGO_PKG_VERSION"),
            args.hosts.join(", "),
            report.started_at
        ),
    };
    let text = mailwarden_policy::init::render(&found, &options);
    // What we write must be usable as it is.
    if let Err(e) = mailwarden_rules::parse_policy(&text, "(generated policy)") {
        bail!("the generated policy does not validate (a bug):\n{e}\n---\n{text}");
    }
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            if !args.quiet {
                eprintln!(
                    "wrote {} ({} open mail port{}); review it, then `mailwarden audit --policy {}`",
                    path.display(),
                    found.len(),
                    plural(found.len()),
                    path.display()
                );
            }
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
