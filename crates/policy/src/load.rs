//! From text to a validated [`Policy`]: TOML and type errors from the
//! deserializer (one, with its span), then every semantic check, collected.

mod sections;
mod service;
mod toml_error;

use std::ops::Range;

use toml::Spanned;

use crate::diag::suggestion;
use crate::policy::{Logs, Service, default_audit_ports};
use crate::schema::RawPolicy;
use crate::{Baseline, Diagnostic, Level, Policy, PolicyError};
use toml_error::from_toml_error;

/// The rules a policy may override: (id, name) pairs. Empty: any key is
/// accepted as written (the rules crate passes its catalogue).
#[derive(Debug, Clone, Copy, Default)]
pub struct KnownRules<'a> {
    /// (id, kebab-case name) of every rule.
    pub rules: &'a [(&'a str, &'a str)],
}

impl Policy {
    /// Parses and validates a policy file. `origin` names it in messages.
    pub fn parse(source: &str, origin: &str, known: KnownRules<'_>) -> Result<Policy, PolicyError> {
        let fail = |diagnostics: Vec<Diagnostic>| PolicyError {
            origin: origin.to_owned(),
            source: source.to_owned(),
            diagnostics,
        };
        let raw: RawPolicy =
            toml::from_str(source).map_err(|e| fail(vec![from_toml_error(&e, source)]))?;
        let mut loader = Loader {
            diags: Vec::new(),
            known,
            service_spans: Vec::new(),
        };
        let policy = loader.policy(raw, origin, source);
        if loader.diags.iter().any(|d| d.level == Level::Error) {
            let mut diags = loader.diags;
            diags.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
            return Err(fail(diags));
        }
        Ok(Policy {
            warnings: loader.diags,
            ..policy
        })
    }
}

struct Loader<'a> {
    diags: Vec<Diagnostic>,
    known: KnownRules<'a>,
    /// The span of each accepted service's name, in `services` order.
    service_spans: Vec<Range<usize>>,
}

impl Loader<'_> {
    fn error(&mut self, message: impl Into<String>, span: Range<usize>, hint: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(message, Some(span)).with_hint(hint));
    }

    fn warn(&mut self, message: impl Into<String>, span: Range<usize>, hint: impl Into<String>) {
        self.diags
            .push(Diagnostic::warning(message, Some(span)).with_hint(hint));
    }

    fn policy(&mut self, raw: RawPolicy, origin: &str, source: &str) -> Policy {
        if let Some(v) = &raw.version
            && *v.get_ref() != 1
        {
            self.error(
                format!("unsupported format version {}", v.get_ref()),
                v.span(),
                "this mailwarden reads version 1: `version = 1`, or leave the key out",
            );
        }
        let baseline = match &raw.baseline {
            None => Baseline::find("rfc8314"),
            Some(b) => self.baseline(b).unwrap_or(None),
        };
        if raw.service.is_empty() {
            self.diags.push(
                Diagnostic::error("the file declares no service", Some(0..0))
                    .with_hint("add a [[service]] table with name, hosts, port, protocol and tls"),
            );
        }
        let mut services: Vec<Service> = Vec::new();
        let mut spans = Vec::new();
        for s in raw.service {
            let before = self.service_spans.len();
            if let Some(service) = self.service(s) {
                services.push(service);
                spans.extend(self.service_spans.get(before).cloned());
            }
        }
        self.service_spans = spans;
        self.duplicates(&services);
        let forbid = self.forbid(raw.forbid, &services);
        let audit_ports = match raw.audit.and_then(|a| a.ports) {
            None => default_audit_ports(),
            Some(ports) => ports.iter().filter_map(|p| self.port(p)).collect(),
        };
        let dns = self.dns(raw.dns);
        let overrides = self.rules(&raw.rules);
        Policy {
            origin: origin.to_owned(),
            source: source.to_owned(),
            name: raw.name,
            baseline,
            services,
            forbid,
            audit_ports,
            dns,
            overrides,
            logs: Logs {
                thresholds: raw.logs.and_then(|l| l.thresholds),
            },
            warnings: Vec::new(),
        }
    }

    /// `Some(None)` for "none"; `None` after reporting an error.
    fn baseline(&mut self, spec: &Spanned<String>) -> Option<Option<&'static Baseline>> {
        let text = spec.get_ref().trim();
        if text == "none" {
            return Some(None);
        }
        if let Some(b) = Baseline::find(text) {
            return Some(Some(b));
        }
        let id = text.split('@').next().unwrap_or(text);
        let mut names = Baseline::ids();
        if names.contains(&id) {
            let revisions: Vec<String> = Baseline::all()
                .iter()
                .filter(|b| b.id == id)
                .map(|b| b.revision.to_string())
                .collect();
            self.error(
                format!(
                    "baseline `{id}` has no revision `{}`",
                    text.split('@').nth(1).unwrap_or("")
                ),
                spec.span(),
                format!(
                    "revisions: {}; or write `{id}` for the latest",
                    revisions.join(", ")
                ),
            );
        } else {
            names.push("none");
            self.error(
                format!("unknown baseline `{text}`"),
                spec.span(),
                suggestion(id, &names),
            );
        }
        None
    }

    fn port(&mut self, p: &Spanned<u16>) -> Option<u16> {
        if *p.get_ref() == 0 {
            self.error(
                "port 0 is not a port",
                p.span(),
                "ports are whole numbers from 1 to 65535",
            );
            return None;
        }
        Some(*p.get_ref())
    }
}
