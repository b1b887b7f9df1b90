//! The validated architecture: what the rest of mailwarden reads.

use mailwarden_model::{DEFAULT_PORTS, Protocol, ServiceRole};

use crate::{AuthMode, Baseline, Cidr, Diagnostic, Override, TlsMode};

/// A validated architecture file.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Where the file came from (for messages).
    pub origin: String,
    /// The file's text (warnings are rendered against it).
    pub source: String,
    /// `name`: a label for reports.
    pub name: Option<String>,
    /// The baseline every endpoint is held to unless its service names
    /// another; `None` for `baseline = "none"`.
    pub baseline: Option<&'static Baseline>,
    /// The declared services, in file order.
    pub services: Vec<Service>,
    /// `[forbid]`.
    pub forbid: Forbid,
    /// `[audit]`: the ports probed on every host besides the declared ones.
    pub audit_ports: Vec<u16>,
    /// `[dns]`.
    pub dns: Dns,
    /// `[rules]`: overrides for every finding, by rule id.
    pub overrides: Vec<RuleOverride>,
    /// `[logs]`.
    pub logs: Logs,
    /// Warnings found while loading (the file is usable).
    pub warnings: Vec<Diagnostic>,
}

/// One `[[service]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Unique name.
    pub name: String,
    /// Host names or IP literals, as they are scanned.
    pub hosts: Vec<String>,
    /// The ports, each with the role it plays (declared, or derived from
    /// port, protocol and TLS mode).
    pub ports: Vec<DeclaredPort>,
    /// The protocol spoken.
    pub protocol: Protocol,
    /// How sessions are protected.
    pub tls: TlsMode,
    /// Whether and where authentication is offered.
    pub auth: AuthMode,
    /// Who may connect (for firewall and log audits; not checked by a scan).
    pub allowed_sources: Vec<Cidr>,
    /// The name certificates must be valid for, when not each host's name.
    pub certificate_name: Option<String>,
    /// `Some(b)`: this service's own baseline (`Some(None)`: none at all).
    pub baseline: Option<Option<&'static Baseline>>,
    /// Overrides for findings on this service's endpoints (win over `[rules]`).
    pub overrides: Vec<RuleOverride>,
    /// Free text.
    pub description: Option<String>,
}

/// A port of a service and its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclaredPort {
    /// The port.
    pub port: u16,
    /// The role (decides the rules' context).
    pub role: ServiceRole,
}

/// `[forbid]`: what must not answer on any declared host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forbid {
    /// Ports that must be closed.
    pub ports: Vec<u16>,
    /// Protocols that must not be spoken on any port.
    pub protocols: Vec<Protocol>,
}

/// `[dns]`: facts about the mail domain(s), for the DNS audit of a later
/// issue; `mta_sts = "enforce"` or `dane = true` already make certificate
/// identity problems on MX ports high (senders authenticate the MX).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dns {
    /// The mail domains.
    pub domains: Vec<String>,
    /// The DKIM selectors in use.
    pub dkim_selectors: Vec<String>,
    /// The MTA-STS mode published: `none`, `testing` or `enforce`.
    pub mta_sts: Option<String>,
    /// True when the MX hosts publish TLSA records (DANE, RFC 7672).
    pub dane: bool,
}

impl Dns {
    /// True when senders authenticate the MX (MTA-STS enforce or DANE).
    pub fn mx_authenticated(&self) -> bool {
        self.dane || self.mta_sts.as_deref() == Some("enforce")
    }
}

/// `[logs]`: settings for `mailwarden logs --policy`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Logs {
    /// `[logs.thresholds]`: the detection thresholds, every key the file
    /// leaves out at its default; `None` when the file has no such table.
    pub thresholds: Option<mailwarden_logs::detect::Thresholds>,
}

/// One override: the rule (by id) and what to do with its findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOverride {
    /// The rule id (normalized to the catalogue's spelling when known).
    pub rule: String,
    /// What to do.
    pub action: Override,
}

impl Service {
    /// True when the service declares `port` on `host`.
    pub fn covers(&self, host: &str, port: u16) -> bool {
        self.port(port).is_some() && self.hosts.iter().any(|h| same_host(h, host))
    }

    /// The declaration of `port`, if the service has it.
    pub fn port(&self, port: u16) -> Option<&DeclaredPort> {
        self.ports.iter().find(|p| p.port == port)
    }

    /// Every (host, port) the service declares.
    pub fn endpoints(&self) -> impl Iterator<Item = (&str, DeclaredPort)> {
        self.hosts
            .iter()
            .flat_map(|h| self.ports.iter().map(move |p| (h.as_str(), *p)))
    }
}

impl Policy {
    /// The service declaring `port` on `host` (host names compare without
    /// regard to case or a final dot).
    pub fn service_at(&self, host: &str, port: u16) -> Option<&Service> {
        self.services.iter().find(|s| s.covers(host, port))
    }

    /// The declared role of `port` on `host`.
    pub fn role_at(&self, host: &str, port: u16) -> Option<ServiceRole> {
        self.service_at(host, port)?.port(port).map(|p| p.role)
    }

    /// The baseline for an endpoint: its service's, else the file's.
    pub fn baseline_at(&self, host: &str, port: u16) -> Option<&'static Baseline> {
        match self.service_at(host, port).and_then(|s| s.baseline) {
            Some(own) => own,
            None => self.baseline,
        }
    }

    /// The override for findings of rule `rule_id` on `host`/`port` (a
    /// service's own first, then `[rules]`); `port` is `None` for findings
    /// about a whole target.
    pub fn override_for(&self, rule_id: &str, host: &str, port: Option<u16>) -> Option<Override> {
        let matches = |o: &&RuleOverride| o.rule.eq_ignore_ascii_case(rule_id);
        port.and_then(|p| self.service_at(host, p))
            .and_then(|s| s.overrides.iter().find(matches))
            .or_else(|| self.overrides.iter().find(matches))
            .map(|o| o.action)
    }

    /// Every declared host, in file order, once.
    pub fn hosts(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.services {
            for h in &s.hosts {
                if !out.iter().any(|o| same_host(o, h)) {
                    out.push(h);
                }
            }
        }
        out
    }

    /// The ports an audit probes on every host: `[audit] ports` (default:
    /// the nine mail ports), then every port a service declares, then the
    /// forbidden ports; each once.
    pub fn scan_ports(&self) -> Vec<u16> {
        let mut out: Vec<u16> = Vec::new();
        let declared = self
            .services
            .iter()
            .flat_map(|s| s.ports.iter().map(|p| p.port));
        for p in self
            .audit_ports
            .iter()
            .copied()
            .chain(declared)
            .chain(self.forbid.ports.iter().copied())
        {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    /// True when `port` is forbidden.
    pub fn forbids_port(&self, port: u16) -> bool {
        self.forbid.ports.contains(&port)
    }

    /// True when `protocol` is forbidden.
    pub fn forbids_protocol(&self, protocol: Protocol) -> bool {
        self.forbid.protocols.contains(&protocol)
    }

    /// Warnings rendered like errors (`origin:line:col: warning: ...`).
    pub fn render_warnings(&self) -> String {
        self.warnings
            .iter()
            .map(|w| w.render(&self.origin, &self.source))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The default `[audit] ports`: the nine mail ports.
pub fn default_audit_ports() -> Vec<u16> {
    DEFAULT_PORTS.to_vec()
}

/// True when two host spellings name the same host.
pub fn same_host(a: &str, b: &str) -> bool {
    let trim = |s: &str| {
        s.trim()
            .trim_end_matches('.')
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase()
    };
    trim(a) == trim(b)
}

/// The role a port plays when the file does not say: SMTP on 25 is the MX,
/// SMTP with implicit TLS is `submissions`, other SMTP is `submission`;
/// IMAP and POP3 with implicit TLS are `imaps`/`pop3s`.
pub fn derive_role(protocol: Protocol, port: u16, tls: TlsMode) -> ServiceRole {
    let implicit = tls == TlsMode::Implicit;
    match protocol {
        Protocol::Smtp if port == 25 => ServiceRole::Smtp,
        Protocol::Smtp if implicit => ServiceRole::Submissions,
        Protocol::Smtp => ServiceRole::Submission,
        Protocol::Imap if implicit => ServiceRole::Imaps,
        Protocol::Imap => ServiceRole::Imap,
        Protocol::Pop3 if implicit => ServiceRole::Pop3s,
        Protocol::Pop3 => ServiceRole::Pop3,
        Protocol::ManageSieve => ServiceRole::Sieve,
        Protocol::Lmtp => ServiceRole::Lmtp,
    }
}
