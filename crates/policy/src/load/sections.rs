//! The checks that look across services or at the other sections:
//! duplicate services and endpoints, `[forbid]`, `[dns]` and the rule
//! overrides of `[rules]` (top level or per service).

use toml::Spanned;

use super::Loader;
use crate::diag::{closest, suggestion};
use crate::policy::{Dns, Forbid, RuleOverride, Service};
use crate::schema::RawRules;
use crate::{Diagnostic, Override};

impl Loader<'_> {
    /// Two services declaring the same host and port.
    pub(super) fn duplicates(&mut self, services: &[Service]) {
        for (i, s) in services.iter().enumerate() {
            let span = self.service_spans.get(i).cloned();
            for other in services.iter().take(i) {
                if other.name == s.name && !s.name.is_empty() {
                    self.diags.push(
                        Diagnostic::error(
                            format!("two services are named `{}`", s.name),
                            span.clone(),
                        )
                        .with_hint("service names must be unique"),
                    );
                }
                for (host, port) in s.endpoints() {
                    if other.covers(host, port.port) {
                        self.diags.push(
                            Diagnostic::error(
                                format!(
                                    "{host} port {} is declared by both `{}` and `{}`",
                                    port.port, other.name, s.name
                                ),
                                span.clone(),
                            )
                            .with_hint("each host and port belongs to one service: remove it from one of them"),
                        );
                    }
                }
            }
        }
    }

    pub(super) fn forbid(
        &mut self,
        raw: Option<crate::schema::RawForbid>,
        services: &[Service],
    ) -> Forbid {
        let Some(raw) = raw else {
            return Forbid::default();
        };
        let mut ports = Vec::new();
        for p in &raw.ports {
            let Some(n) = self.port(p) else { continue };
            if let Some(s) = services.iter().find(|s| s.port(n).is_some()) {
                self.error(
                    format!(
                        "port {n} is forbidden, but service `{}` declares it",
                        s.name
                    ),
                    p.span(),
                    "a port is either a service or forbidden: remove it from one",
                );
            }
            if !ports.contains(&n) {
                ports.push(n);
            }
        }
        let mut protocols = Vec::new();
        for p in &raw.protocols {
            let proto = *p.get_ref();
            if let Some(s) = services.iter().find(|s| s.protocol == proto) {
                self.error(
                    format!("{proto} is forbidden, but service `{}` speaks it", s.name),
                    p.span(),
                    "a protocol is either declared or forbidden: remove it from one",
                );
            }
            if !protocols.contains(&proto) {
                protocols.push(proto);
            }
        }
        Forbid { ports, protocols }
    }

    pub(super) fn dns(&mut self, raw: Option<crate::schema::RawDns>) -> Dns {
        let Some(raw) = raw else {
            return Dns::default();
        };
        let mut selectors = Vec::new();
        for s in &raw.dkim_selectors {
            let text = s.get_ref().trim();
            let valid = !text.is_empty()
                && text.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                });
            if valid {
                selectors.push(text.to_owned());
            } else {
                self.error(
                    format!("`{text}` is not a DKIM selector"),
                    s.span(),
                    "a selector is one or more DNS labels (letters, digits, '-', '_'), e.g. \"2024a\"; \
                     without \"._domainkey\"",
                );
            }
        }
        Dns {
            domains: raw
                .domains
                .iter()
                .map(|d| d.get_ref().trim().trim_end_matches('.').to_owned())
                .collect(),
            dkim_selectors: selectors,
            mta_sts: raw.mta_sts.map(|m| m.get_ref().as_str().to_owned()),
            dane: raw.dane,
        }
    }

    pub(super) fn rules(&mut self, raw: &RawRules) -> Vec<RuleOverride> {
        let mut out: Vec<RuleOverride> = Vec::new();
        for (key, value) in raw {
            let Some(action) = Override::parse(value.get_ref().trim()) else {
                self.error(
                    format!("unknown override `{}`", value.get_ref()),
                    value.span(),
                    suggestion(value.get_ref(), &Override::names()),
                );
                continue;
            };
            let Some(rule) = self.rule_id(key) else {
                continue;
            };
            if out.iter().any(|o| o.rule == rule) {
                self.error(
                    format!("rule {rule} is overridden twice"),
                    key.span(),
                    "an id and a name of the same rule are both listed: keep one",
                );
                continue;
            }
            out.push(RuleOverride { rule, action });
        }
        out
    }

    fn rule_id(&mut self, key: &Spanned<String>) -> Option<String> {
        let text = key.get_ref().trim();
        if self.known.rules.is_empty() {
            return Some(text.to_owned());
        }
        if let Some((id, _)) = self
            .known
            .rules
            .iter()
            .find(|(id, name)| id.eq_ignore_ascii_case(text) || *name == text)
        {
            return Some((*id).to_owned());
        }
        let candidates: Vec<&str> = self
            .known
            .rules
            .iter()
            .flat_map(|(id, name)| [*id, *name])
            .collect();
        let hint = match closest(text, candidates.iter().copied()) {
            Some(best) => format!("did you mean `{best}`? `mailwarden rules` lists every rule"),
            None => "`mailwarden rules` lists every rule id and name".to_owned(),
        };
        self.error(format!("unknown rule `{text}`"), key.span(), hint);
        None
    }
}
