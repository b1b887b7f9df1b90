//! The checks of one `[[service]]` table: name, hosts, ports, protocol,
//! role, TLS, authentication, allowed sources and certificate name.

use std::ops::Range;

use mailwarden_model::{Protocol, ServiceRole};
use toml::Spanned;

use super::Loader;
use crate::policy::{DeclaredPort, Service, derive_role};
use crate::schema::RawService;
use crate::{AuthMode, Cidr, CidrError, TlsMode};

impl Loader<'_> {
    pub(super) fn service(&mut self, spanned: Spanned<RawService>) -> Option<Service> {
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
}
