//! From text to a validated [`Policy`]: TOML and type errors from the
//! deserializer (one, with its span), then every semantic check, collected.

use std::ops::Range;

use mailwarden_model::{Protocol, ServiceRole};
use toml::Spanned;

use crate::diag::{closest, suggestion};
use crate::policy::{
    DeclaredPort, Dns, Forbid, Logs, RuleOverride, Service, default_audit_ports, derive_role,
};
use crate::schema::{RawPolicy, RawRules, RawService, TOP_LEVEL_KEYS, missing_key_hint};
use crate::{
    AuthMode, Baseline, Cidr, CidrError, Diagnostic, Level, Override, Policy, PolicyError, TlsMode,
};

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

/// Turns the deserializer's error into a diagnostic with a hint.
fn from_toml_error(e: &toml::de::Error, source: &str) -> Diagnostic {
    let message = e.message().trim().to_owned();
    let span = e.span();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let mut candidates: Vec<&str> = backticked(expected);
        if candidates.is_empty() && expected.contains("no fields") {
            candidates = Vec::new();
        }
        if candidates.is_empty() && at_top_level(source, span.as_ref()) {
            candidates = TOP_LEVEL_KEYS.to_vec();
        }
        let hint = if candidates.is_empty() {
            "remove it: this table takes no such key".to_owned()
        } else {
            suggestion(key, &candidates)
        };
        let section = span
            .as_ref()
            .and_then(|s| source.get(..s.start))
            .is_some_and(|before| before.trim_end_matches(' ').ends_with('['));
        let what = if section { "section" } else { "key" };
        return Diagnostic::error(format!("unknown {what} `{key}`"), span).with_hint(hint);
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (value, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let candidates = backticked(expected);
        return Diagnostic::error(format!("unknown value `{value}`"), span)
            .with_hint(suggestion(value, &candidates));
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        let d = Diagnostic::error(format!("missing key `{key}`"), span);
        return match missing_key_hint(key) {
            Some(h) => d.with_hint(h),
            None => d,
        };
    }
    if message.contains("expected u16") {
        return Diagnostic::error(message, span)
            .with_hint("ports are whole numbers from 1 to 65535");
    }
    let d = Diagnostic::error(
        message.lines().next().unwrap_or("invalid TOML").to_owned(),
        span,
    );
    let rest: Vec<&str> = message
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if rest.is_empty() {
        d
    } else {
        d.with_hint(rest.join("; "))
    }
}

/// The words between backticks in "expected one of `a`, `b`".
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// True when the span is in the part of the file before any table header.
fn at_top_level(source: &str, span: Option<&Range<usize>>) -> bool {
    let Some(span) = span else { return false };
    let before = source.get(..span.start).unwrap_or("");
    !before.lines().any(|l| l.trim_start().starts_with('['))
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

    fn service(&mut self, spanned: Spanned<RawService>) -> Option<Service> {
        let raw = spanned.into_inner();
        self.service_spans.push(raw.name.span());
        let name = raw.name.get_ref().trim().to_owned();
        if name.is_empty() {
            self.error(
                "a service name is empty",
                raw.name.span(),
                "name the service: name = \"submission\"",
            );
        }
        let hosts = self.hosts(&raw.hosts);
        let ports = self.ports(&raw)?;
        let protocol = self.protocol(&raw, &ports)?;
        let tls = *raw.tls.get_ref();
        let role = match &raw.role {
            Some(r) => {
                self.check_role(*r.get_ref(), protocol, tls, r.span(), raw.tls.span());
                Some(*r.get_ref())
            }
            None => None,
        };
        let ports: Vec<DeclaredPort> = ports
            .iter()
            .map(|p| DeclaredPort {
                port: *p.get_ref(),
                role: role.unwrap_or_else(|| derive_role(protocol, *p.get_ref(), tls)),
            })
            .collect();
        let auth = self.auth(&raw, protocol, tls, ports.first().map(|p| p.role));
        if tls == TlsMode::Plaintext
            && ports
                .iter()
                .any(|p| p.role != ServiceRole::Smtp && p.role != ServiceRole::Lmtp)
        {
            self.warn(
                format!("service `{name}` declares a client port without TLS"),
                raw.tls.span(),
                "RFC 8314 deprecates cleartext submission and access: mailwarden still reports it \
                 (MW-TRANSPORT-001); plan a move to implicit TLS",
            );
        }
        let allowed_sources = raw
            .allowed_sources
            .iter()
            .flatten()
            .filter_map(|s| self.cidr(s))
            .collect();
        let certificate_name = match &raw.certificate_name {
            Some(n) if n.get_ref().trim().is_empty() => {
                self.error(
                    "certificate_name is empty",
                    n.span(),
                    "give the DNS name the certificate must be valid for, or remove the key",
                );
                None
            }
            Some(n) => Some(n.get_ref().trim().to_owned()),
            None => None,
        };
        let baseline = raw.baseline.as_ref().and_then(|b| self.baseline(b));
        let overrides = self.rules(&raw.rules);
        Some(Service {
            name,
            hosts,
            ports,
            protocol,
            tls,
            auth,
            allowed_sources,
            certificate_name,
            baseline,
            overrides,
            description: raw.description,
        })
    }

    fn hosts(&mut self, hosts: &Spanned<Vec<Spanned<String>>>) -> Vec<String> {
        if hosts.get_ref().is_empty() {
            self.error(
                "`hosts` is empty",
                hosts.span(),
                "list at least one host name or address",
            );
        }
        let mut out = Vec::new();
        for h in hosts.get_ref() {
            let text = h.get_ref().trim();
            if text.is_empty() || text.contains(char::is_whitespace) || text.contains('/') {
                self.error(
                    format!("`{text}` is not a host name or address"),
                    h.span(),
                    "write a host name (mx1.example.org) or an IP literal (192.0.2.10, 2001:db8::25)",
                );
                continue;
            }
            if let Some((host, port)) = text.rsplit_once(':')
                && !host.contains(':')
                && port.parse::<u16>().is_ok()
            {
                self.error(
                    format!("host `{text}` carries a port"),
                    h.span(),
                    format!("write the host alone (`{host}`) and the port in `port = {port}`"),
                );
                continue;
            }
            out.push(text.to_owned());
        }
        out
    }

    fn ports(&mut self, raw: &RawService) -> Option<Vec<Spanned<u16>>> {
        let ports: Vec<Spanned<u16>> = match (&raw.port, &raw.ports) {
            (Some(_), Some(list)) => {
                self.error(
                    "both `port` and `ports` are given",
                    list.span(),
                    "keep one: `port = 587` for one port, `ports = [587, 2525]` for several",
                );
                return None;
            }
            (Some(p), None) => vec![p.clone()],
            (None, Some(list)) if list.get_ref().is_empty() => {
                self.error(
                    "`ports` is empty",
                    list.span(),
                    "list at least one port: ports = [587]",
                );
                return None;
            }
            (None, Some(list)) => list.get_ref().clone(),
            (None, None) => {
                self.error(
                    format!("service `{}` declares no port", raw.name.get_ref()),
                    raw.name.span(),
                    "add `port = 25` (or `ports = [587, 2525]`)",
                );
                return None;
            }
        };
        let mut seen: Vec<u16> = Vec::new();
        let mut out = Vec::new();
        for p in ports {
            let Some(n) = self.port(&p) else { continue };
            if seen.contains(&n) {
                self.error(
                    format!("port {n} is listed twice"),
                    p.span(),
                    "list each port once",
                );
                continue;
            }
            seen.push(n);
            out.push(p);
        }
        (!out.is_empty()).then_some(out)
    }

    fn protocol(&mut self, raw: &RawService, ports: &[Spanned<u16>]) -> Option<Protocol> {
        if let Some(p) = &raw.protocol {
            return Some(*p.get_ref());
        }
        if let Some(r) = &raw.role {
            return Some(r.get_ref().protocol());
        }
        let registered: Vec<Option<Protocol>> = ports
            .iter()
            .map(|p| ServiceRole::for_port(*p.get_ref()).map(ServiceRole::protocol))
            .collect();
        if let Some(Some(first)) = registered.first()
            && registered.iter().all(|r| *r == Some(*first))
        {
            return Some(*first);
        }
        let port = ports
            .iter()
            .find(|p| ServiceRole::for_port(*p.get_ref()).is_none())
            .or(ports.first())?;
        self.error(
            format!("service `{}` needs a protocol", raw.name.get_ref()),
            port.span(),
            format!(
                "port {} is not a registered mail port: add protocol = \"smtp\" (or lmtp, imap, pop3, managesieve)",
                port.get_ref()
            ),
        );
        None
    }

    fn check_role(
        &mut self,
        role: ServiceRole,
        protocol: Protocol,
        tls: TlsMode,
        role_span: Range<usize>,
        tls_span: Range<usize>,
    ) {
        if role.protocol() != protocol {
            self.error(
                format!(
                    "role `{role}` is a {} role, but the protocol is {protocol}",
                    role.protocol()
                ),
                role_span,
                "make role and protocol agree, or leave `role` out to derive it",
            );
            return;
        }
        let implicit = tls == TlsMode::Implicit;
        if role.implicit_tls() && !implicit {
            self.error(
                format!("role `{role}` is implicit TLS, but tls = \"{tls}\""),
                tls_span,
                "use tls = \"implicit\", or the STARTTLS role (submission, imap, pop3)",
            );
        } else if implicit && !role.implicit_tls() && role != ServiceRole::Lmtp {
            let better = match role {
                ServiceRole::Submission | ServiceRole::Smtp => "submissions",
                ServiceRole::Imap => "imaps",
                ServiceRole::Pop3 => "pop3s",
                _ => "an implicit-TLS role",
            };
            self.error(
                format!("role `{role}` speaks plaintext first, but tls = \"implicit\""),
                tls_span,
                format!("use role = \"{better}\", or leave `role` out to derive it"),
            );
        }
    }

    fn auth(
        &mut self,
        raw: &RawService,
        protocol: Protocol,
        tls: TlsMode,
        role: Option<ServiceRole>,
    ) -> AuthMode {
        let Some(auth) = &raw.auth else {
            return match role {
                Some(ServiceRole::Smtp | ServiceRole::Lmtp) => AuthMode::None,
                _ if tls == TlsMode::Plaintext => AuthMode::Required,
                _ => AuthMode::AfterTls,
            };
        };
        let mode = *auth.get_ref();
        if mode == AuthMode::None
            && matches!(
                protocol,
                Protocol::Imap | Protocol::Pop3 | Protocol::ManageSieve
            )
        {
            self.error(
                format!("{protocol} always authenticates: auth = \"none\" cannot hold"),
                auth.span(),
                "use auth = \"after-tls\" (or \"required\")",
            );
        }
        if mode == AuthMode::AfterTls && tls == TlsMode::Plaintext {
            self.error(
                "auth = \"after-tls\" on a service without TLS",
                auth.span(),
                "declare the TLS mode the service really has, or auth = \"required\"",
            );
        }
        mode
    }

    fn cidr(&mut self, s: &Spanned<String>) -> Option<Cidr> {
        match Cidr::parse(s.get_ref()) {
            Ok(c) => Some(c),
            Err(CidrError::Address) => {
                self.error(
                    format!("`{}` is not an address or network", s.get_ref()),
                    s.span(),
                    "write a CIDR such as 192.0.2.0/24 or 2001:db8::/32 (\"0.0.0.0/0\" and \"::/0\" for anywhere)",
                );
                None
            }
            Err(CidrError::Prefix(width)) => {
                self.error(
                    format!("`{}` has an invalid prefix length", s.get_ref()),
                    s.span(),
                    format!("the prefix is a number from 0 to {width}"),
                );
                None
            }
            Err(CidrError::HostBits(network)) => {
                self.error(
                    format!("`{}` has bits set after the prefix", s.get_ref()),
                    s.span(),
                    format!("did you mean `{network}`?"),
                );
                None
            }
        }
    }

    /// Two services declaring the same host and port.
    fn duplicates(&mut self, services: &[Service]) {
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

    fn forbid(&mut self, raw: Option<crate::schema::RawForbid>, services: &[Service]) -> Forbid {
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

    fn dns(&mut self, raw: Option<crate::schema::RawDns>) -> Dns {
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

    fn rules(&mut self, raw: &RawRules) -> Vec<RuleOverride> {
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
