//! `mailwarden rules [ID]`: the catalogue, or one rule explained.

use std::process::ExitCode;

use anyhow::bail;

use crate::cli::RulesArgs;

pub fn run(args: RulesArgs) -> anyhow::Result<ExitCode> {
    let out = match (&args.rule, args.markdown) {
        (None, true) => mailwarden_rules::catalogue_markdown(),
        (None, false) => mailwarden_report::render_catalogue(mailwarden_rules::catalogue()),
        (Some(id), _) => match mailwarden_rules::rule(id) {
            Some(rule) => mailwarden_report::render_rule(rule),
            None => bail!("no rule {id:?}; `mailwarden rules` lists them all"),
        },
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
