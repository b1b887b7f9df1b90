//! `mailwarden`: the command-line tool. Parses arguments, runs a command, maps
//! the outcome to an exit status: 0 clean, 1 findings at or above `--fail-on`,
//! 2 usage or runtime errors.

mod audit_cmd;
mod cli;
mod diff_cmd;
mod dns_cmd;
mod history_cmd;
mod logs_cmd;
mod policy_cmd;
mod rules_cmd;
mod scan;
mod spf_cmd;
mod watch_cmd;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Scan(args) => scan::run(args),
        cli::Command::Rules(args) => rules_cmd::run(args),
        cli::Command::Logs(args) => logs_cmd::run(args),
        cli::Command::Audit(args) => audit_cmd::run(args),
        cli::Command::Policy(args) => policy_cmd::run(args),
        cli::Command::Dns(args) => dns_cmd::run(args),
        cli::Command::Spf(args) => spf_cmd::run(args),
        cli::Command::History(args) => history_cmd::run(args),
        cli::Command::Diff(args) => diff_cmd::run(args),
        cli::Command::Watch(args) => watch_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mailwarden: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
