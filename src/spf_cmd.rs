//! `mailwarden spf --ip ADDR --sender ADDR [--helo NAME]`: one `check_host()`
//! evaluation (RFC 7208), with the lookups it needed.

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use mailwarden_dns::spf::{Case, check_host};
use mailwarden_model::SpfResult;
use mailwarden_probe::TlsSettings;

use crate::cli::Format;
use crate::dns_cmd::{DnsOptions, DomainRun};

/// `mailwarden spf`.
#[derive(Debug, Args)]
pub struct SpfArgs {
    /// The client address.
    #[arg(long, value_name = "ADDR")]
    pub ip: IpAddr,

    /// The envelope sender (MAIL FROM); its domain's SPF is evaluated.
    /// A bare domain means `postmaster@DOMAIN`.
    #[arg(long, value_name = "ADDR")]
    pub sender: String,

    /// The HELO/EHLO name (used by `%{h}` macros).
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,

    /// DNS options (`--resolver`, `--trust-anchor`, `--dnssec`).
    #[command(flatten)]
    pub dns: DnsOptions,

    /// Seconds allowed for each DNS question.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub timeout: f64,

    /// Output format (text or json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Exit status: 0 for pass, 1 for any other result.
pub fn run(args: SpfArgs) -> anyhow::Result<ExitCode> {
    if !(args.timeout > 0.0 && args.timeout <= 600.0) {
        bail!("--timeout must be between 0 and 600 seconds");
    }
    let sender = if args.sender.contains('@') {
        args.sender.clone()
    } else {
        format!("postmaster@{}", args.sender)
    };
    let domain = sender
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .with_context(|| format!("--sender {:?} has no domain", args.sender))?;
    let runtime = crate::scan::runtime()?;
    let helo = args.helo.clone().unwrap_or_default();
    let check = runtime.block_on(async {
        let run = DomainRun::new(
            &args.dns,
            TlsSettings::new(mailwarden_cert::TrustAnchors::mozilla()),
            Duration::from_secs_f64(args.timeout),
        )?;
        let case = Case {
            ip: args.ip,
            sender: &sender,
            helo: &helo,
        };
        anyhow::Ok(check_host(&run.resolver, &domain, &case, "cli").await)
    })?;
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&check)?);
    } else {
        println!(
            "check_host({}, {domain}, {}) = {}\n  {}\n  {} DNS lookups, {} void lookups",
            check.ip,
            check.sender,
            check.result.as_str(),
            check.reason,
            check.dns_lookups,
            check.void_lookups
        );
    }
    Ok(if check.result == SpfResult::Pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
