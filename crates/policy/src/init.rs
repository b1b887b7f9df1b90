//! `mailwarden policy init`: a starting architecture file written from what a
//! scan found. One service per open mail port (hosts that show the same port,
//! protocol, role and TLS mode share a service), with the TLS mode and
//! authentication observed; client ports that speak plaintext only (legacy
//! POP3, IMAP, submission, Sieve) go to `[forbid]`, flagged with a comment,
//! so the first audit says "retire these" instead of blessing them.

use std::fmt::Write as _;

use mailwarden_model::{Protocol, ServiceRole};

use crate::{AuthMode, TlsMode, derive_role};

/// One open mail endpoint, as the scan saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The host as scanned.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The protocol recognized.
    pub protocol: Protocol,
    /// The role the scan judged it in (declared with `--ports`, or registered).
    pub role: Option<ServiceRole>,
    /// The TLS mode observed; `None` when TLS was broken or the port was not assessed.
    pub tls: Option<TlsMode>,
    /// Why `tls` is `None` (the posture verdict), for a comment.
    pub note: Option<String>,
    /// Authentication offered before TLS.
    pub auth_before_tls: bool,
    /// Authentication offered inside TLS (or, without TLS, in the session).
    pub auth_inside_tls: bool,
}

/// What else goes into the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOptions {
    /// `baseline = ...`.
    pub baseline: String,
    /// `[audit] ports`, when the scan used other ports than the default nine.
    pub audit_ports: Option<Vec<u16>>,
    /// `certificate_name` of every service (the scan's `--name`).
    pub certificate_name: Option<String>,
    /// The first comment line, e.g. "written by mailwarden 0.1.0 from a scan of ...".
    pub header: String,
}

/// A service being assembled.
struct Draft<'a> {
    first: &'a Found,
    role: ServiceRole,
    tls: TlsMode,
    auth: AuthMode,
    hosts: Vec<&'a str>,
}

/// Renders the file. It parses with [`crate::Policy::parse`] whenever at
/// least one mail port was found (a test checks it).
pub fn render(found: &[Found], options: &InitOptions) -> String {
    let mut drafts: Vec<Draft<'_>> = Vec::new();
    let mut legacy: Vec<&Found> = Vec::new();
    for f in found {
        // The scan's role, unless the server speaks another protocol than the role's.
        let role = f
            .role
            .filter(|r| r.protocol() == f.protocol)
            .unwrap_or_else(|| derive_role(f.protocol, f.port, f.tls.unwrap_or(TlsMode::Starttls)));
        let client = !matches!(role, ServiceRole::Smtp | ServiceRole::Lmtp);
        if f.protocol == Protocol::Lmtp {
            legacy.push(f);
            continue;
        }
        if client && f.tls == Some(TlsMode::Plaintext) {
            legacy.push(f);
            continue;
        }
        let tls = f.tls.unwrap_or(if role.implicit_tls() {
            TlsMode::Implicit
        } else if role == ServiceRole::Smtp {
            TlsMode::Starttls
        } else {
            TlsMode::StarttlsRequired
        });
        // A role that contradicts the observed mode (e.g. 465 answering STARTTLS) is re-derived.
        let role = if role.implicit_tls() != (tls == TlsMode::Implicit) {
            derive_role(f.protocol, f.port, tls)
        } else {
            role
        };
        let auth = observed_auth(f, tls);
        match drafts.iter_mut().find(|d| {
            d.first.port == f.port
                && d.first.protocol == f.protocol
                && d.role == role
                && d.tls == tls
                && d.auth == auth
        }) {
            Some(d) => {
                if !d.hosts.contains(&f.host.as_str()) {
                    d.hosts.push(&f.host);
                }
            }
            None => drafts.push(Draft {
                first: f,
                role,
                tls,
                auth,
                hosts: vec![&f.host],
            }),
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "# {}", options.header);
    out.push_str(
        "# The declared mail architecture: `mailwarden audit --policy FILE` reports every\n\
         # difference. Review each service: this file says what IS, the architecture is what\n\
         # SHOULD BE. Format: docs/policy.md.\n\n",
    );
    out.push_str("version = 1\n");
    let _ = writeln!(
        out,
        "baseline = \"{}\"   # or rfc8314, mozilla-intermediate, bsi-tr-03108, nist-800-177, none",
        options.baseline
    );
    if let Some(ports) = &options.audit_ports {
        out.push_str("\n[audit]\n# Probed on every host besides the declared ports (default: the nine mail ports).\n");
        let _ = writeln!(out, "ports = [{}]", join(ports));
    }
    let mut names: Vec<String> = Vec::new();
    for d in &drafts {
        service(&mut out, d, &mut names, options);
    }
    forbid(&mut out, &legacy, &drafts);
    out
}

fn observed_auth(f: &Found, tls: TlsMode) -> AuthMode {
    match (f.auth_before_tls, f.auth_inside_tls) {
        (true, _) => AuthMode::Required,
        (false, true) if tls == TlsMode::Plaintext => AuthMode::Required,
        (false, true) => AuthMode::AfterTls,
        (false, false) if matches!(f.protocol, Protocol::Smtp | Protocol::Lmtp) => AuthMode::None,
        (false, false) => AuthMode::Optional,
    }
}

fn service(out: &mut String, d: &Draft<'_>, names: &mut Vec<String>, options: &InitOptions) {
    let base = match d.role {
        ServiceRole::Smtp => "inbound-mx".to_owned(),
        r => r.as_str().to_owned(),
    };
    let mut name = if names.contains(&base) {
        format!("{base}-{}", d.first.port)
    } else {
        base
    };
    while names.contains(&name) {
        name.push('\'');
    }
    names.push(name.clone());
    out.push_str("\n[[service]]\n");
    let _ = writeln!(out, "name = \"{name}\"");
    let hosts: Vec<String> = d.hosts.iter().map(|h| format!("\"{h}\"")).collect();
    let _ = writeln!(out, "hosts = [{}]", hosts.join(", "));
    let _ = writeln!(out, "port = {}", d.first.port);
    let protocol = match d.first.protocol {
        Protocol::Smtp => "smtp",
        Protocol::Lmtp => "lmtp",
        Protocol::Imap => "imap",
        Protocol::Pop3 => "pop3",
        Protocol::ManageSieve => "managesieve",
    };
    let _ = writeln!(out, "protocol = \"{protocol}\"");
    if derive_role(d.first.protocol, d.first.port, d.tls) != d.role {
        let _ = writeln!(out, "role = \"{}\"", d.role);
    }
    match &d.first.tls {
        Some(_) => {
            let _ = writeln!(out, "tls = \"{}\"", d.tls);
        }
        None => {
            let why = d.first.note.as_deref().unwrap_or("not assessed");
            let _ = writeln!(
                out,
                "tls = \"{}\"   # CHECK: observed {why}; this is the mode the role expects",
                d.tls
            );
        }
    }
    let _ = writeln!(out, "auth = \"{}\"", d.auth);
    if let Some(n) = &options.certificate_name {
        let _ = writeln!(out, "certificate_name = \"{n}\"");
    }
}

fn forbid(out: &mut String, legacy: &[&Found], drafts: &[Draft<'_>]) {
    out.push_str("\n[forbid]\n");
    let mut ports: Vec<u16> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for f in legacy {
        if f.protocol == Protocol::Lmtp {
            notes.push(format!(
                "# LEGACY: {} port {} answers LMTP to the network",
                f.host, f.port
            ));
            continue;
        }
        if drafts.iter().any(|d| d.first.port == f.port) {
            notes.push(format!(
                "# LEGACY: {} port {} speaks {} without TLS (the port is declared for another host: not forbidden)",
                f.host, f.port, f.protocol
            ));
            continue;
        }
        notes.push(format!(
            "# LEGACY: {} port {} speaks {} without TLS; RFC 8314 deprecates it. Retire it, or \
             declare a service if it must stay.",
            f.host, f.port, f.protocol
        ));
        if !ports.contains(&f.port) {
            ports.push(f.port);
        }
    }
    for n in notes {
        let _ = writeln!(out, "{n}");
    }
    let _ = writeln!(out, "ports = [{}]", join(&ports));
    out.push_str("# LMTP is local delivery: it must never answer on a network address.\n");
    out.push_str("protocols = [\"lmtp\"]\n");
}

fn join(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
