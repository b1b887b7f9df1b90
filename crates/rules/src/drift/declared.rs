//! What answers against what is declared: undeclared open ports, declared
//! services that are down, forbidden ports and protocols, the wrong protocol.

use mailwarden_model::{Attempt, PortState, Protocol, Severity};
use mailwarden_policy::same_host;

use super::{Audit, AuditHit, service_label};
use crate::catalogue::{Check, Family, Level, Reference, Remediation, Rule, Severities};
use crate::facts::{self, Hit, evidence, fact_lines};

const POLICY_REFERENCE: Reference = Reference::doc(
    "mailwarden docs/policy.md",
    "the policy file: declared services, their hosts, ports and modes, forbidden ports",
    "",
);

/// MW-DRIFT-001.
pub(crate) const UNDECLARED_OPEN_PORT: Rule = Rule {
    id: "MW-DRIFT-001",
    name: "undeclared-open-port",
    family: Family::Drift,
    title: "A mail protocol answers on a port no service declares",
    severities: Severities {
        lmtp: Level::At(Severity::High),
        ..Severities::everywhere(Severity::Medium)
    },
    rationale: "Every mail port that answers is a way in, with its own TLS, authentication and \
        patch level. One that the architecture does not know about is not reviewed, not \
        monitored and not retired when the rest moves on: a forgotten 2525, a test listener, \
        an exposed LMTP or a legacy POP3 are how old weaknesses linger.",
    remediation: Remediation {
        generic: "Close the port (stop the listener or firewall it), or declare it as a service in \
            the policy file if it is meant to be there.",
        postfix: "remove the service from master.cf (or bind it to localhost) and run `postfix reload`",
        dovecot: "remove the `inet_listener` (or set its `port = 0`) and run `doveadm reload`",
        exim: "remove the port from `daemon_smtp_ports` / `local_interfaces` and restart Exim",
    },
    references: &[
        POLICY_REFERENCE,
        Reference::doc(
            "CIS Controls v8",
            "4.8: uninstall or disable unnecessary services; 12.2: maintain a secure network architecture",
            "https://www.cisecurity.org/controls/v8",
        ),
    ],
    check: Check::Audit(undeclared_open_port),
};

fn undeclared_open_port(audit: &Audit<'_>) -> Vec<AuditHit> {
    let policy = audit.policy;
    let mut out = Vec::new();
    for (i, ep) in audit.declared_hosts() {
        let port = ep.obs.address.port();
        let Some(protocol) = ep.obs.protocol else {
            continue;
        };
        if ep.obs.state != PortState::Open
            || policy.service_at(&ep.obs.target, port).is_some()
            || policy.forbids_port(port)
            || policy.forbids_protocol(protocol)
        {
            continue;
        }
        let mut proof = Vec::new();
        if let Some(greeting) = greeting(ep.obs) {
            proof.push(evidence("greeting", greeting));
        }
        proof.push(evidence(
            "policy",
            fact_lines([format!(
                "no [[service]] declares port {port} on {}",
                ep.obs.target
            )]),
        ));
        out.push(audit.on(
            i,
            Hit::new(
                format!(
                    "{} answers on {}, but no service in the policy declares it.",
                    facts::service(ep.obs),
                    ep.obs.target
                ),
                proof,
            ),
        ));
    }
    out
}

/// The greeting, plaintext or over implicit TLS.
fn greeting(obs: &mailwarden_model::EndpointObservation) -> Option<Vec<mailwarden_model::Line>> {
    if let Some(lines) = facts::plaintext_greeting(obs) {
        return Some(lines.to_vec());
    }
    obs.implicit_tls
        .as_ref()
        .and_then(|i| i.greeting.value())
        .filter(|l| !l.is_empty())
        .cloned()
}

/// MW-DRIFT-002.
pub(crate) const DECLARED_SERVICE_DOWN: Rule = Rule {
    id: "MW-DRIFT-002",
    name: "declared-service-down",
    family: Family::Drift,
    title: "A declared service does not answer",
    severities: Severities::everywhere(Severity::Medium),
    rationale: "The policy says this host serves mail on this port, but the connection was \
        refused, timed out, or the host did not resolve. Either the service is down (mail \
        bounces or queues, clients fail over to something else), or the architecture changed \
        and the file did not.",
    remediation: Remediation {
        generic: "Bring the service back (check the listener and the firewall), or remove the \
            host or port from the policy if it was retired on purpose.",
        postfix: "`postfix status`, `ss -ltnp | grep master`, and the service line in master.cf",
        dovecot: "`doveadm service status`, `ss -ltnp | grep dovecot`, and the `inet_listener`",
        exim: "`exim -bP daemon_smtp_ports local_interfaces` and the daemon's status",
    },
    references: &[POLICY_REFERENCE],
    check: Check::Audit(declared_service_down),
};

fn declared_service_down(audit: &Audit<'_>) -> Vec<AuditHit> {
    let mut out = Vec::new();
    for service in &audit.policy.services {
        for (i, ep) in audit.of_service(service) {
            if !matches!(ep.obs.state, PortState::Closed | PortState::Filtered) {
                continue;
            }
            let detail = ep
                .obs
                .state_detail
                .as_ref()
                .map_or_else(|| ep.obs.state.as_str().to_owned(), ToString::to_string);
            out.push(audit.on(
                i,
                Hit::new(
                    format!(
                        "Port {} on {} is {}, but {} declares it.",
                        ep.obs.address.port(),
                        ep.obs.target,
                        ep.obs.state.as_str(),
                        service_label(service)
                    ),
                    vec![evidence("probe result", fact_lines([detail]))],
                ),
            ));
        }
        for host in &service.hosts {
            let Some(target) = audit.targets.iter().find(|t| same_host(&t.input, host)) else {
                continue;
            };
            let why = match &target.resolution {
                Attempt::Completed { value } if value.is_empty() => "it has no address".to_owned(),
                Attempt::Completed { .. } => continue,
                Attempt::Failed { error } => error.to_string(),
                Attempt::Skipped { reason } => format!("resolution skipped: {reason}"),
            };
            for port in &service.ports {
                out.push(AuditHit {
                    endpoint: None,
                    target: host.clone(),
                    port: Some((port.port, port.role)),
                    hit: Hit::new(
                        format!(
                            "{host} did not resolve, so port {} of {} was not reached.",
                            port.port,
                            service_label(service)
                        ),
                        vec![evidence("resolution", fact_lines([why.clone()]))],
                    ),
                });
            }
        }
    }
    out
}

/// MW-DRIFT-003 is in `mode`; MW-DRIFT-006.
pub(crate) const PROTOCOL_DIFFERS: Rule = Rule {
    id: "MW-DRIFT-006",
    name: "protocol-differs-from-declared",
    family: Family::Drift,
    title: "A declared port speaks another protocol than declared",
    severities: Severities::everywhere(Severity::Medium),
    rationale: "The port answers, but not with the protocol the policy declares: a listener was \
        moved or swapped, a proxy points at the wrong backend, or something else took the port. \
        The TLS and authentication expectations of the declaration do not apply to what \
        actually answers.",
    remediation: Remediation {
        generic: "Put the declared service back on the port, or correct the declaration.",
        postfix: "check which master.cf service binds the port (`postconf -M`)",
        dovecot: "check which `inet_listener` binds the port (`doveconf -n`)",
        exim: "check `daemon_smtp_ports` and any proxy in front of Exim",
    },
    references: &[POLICY_REFERENCE],
    check: Check::Audit(protocol_differs),
};

fn protocol_differs(audit: &Audit<'_>) -> Vec<AuditHit> {
    let mut out = Vec::new();
    for service in &audit.policy.services {
        for (i, ep) in audit.of_service(service) {
            let seen = match (ep.obs.state, ep.obs.protocol) {
                (PortState::Open, Some(p)) if p != service.protocol => p.as_str().to_owned(),
                (PortState::OpenNotMail, _) => "no mail protocol".to_owned(),
                _ => continue,
            };
            let mut proof = Vec::new();
            if !ep.obs.non_mail_reply.is_empty() {
                proof.push(evidence(
                    "what the port said",
                    ep.obs.non_mail_reply.clone(),
                ));
            } else if let Some(g) = greeting(ep.obs) {
                proof.push(evidence("greeting", g));
            }
            out.push(audit.on(
                i,
                Hit::new(
                    format!(
                        "Port {} on {} speaks {seen}, but {} declares {}.",
                        ep.obs.address.port(),
                        ep.obs.target,
                        service_label(service),
                        service.protocol
                    ),
                    proof,
                ),
            ));
        }
    }
    out
}

/// MW-DRIFT-007.
pub(crate) const FORBIDDEN_PORT_ANSWERS: Rule = Rule {
    id: "MW-DRIFT-007",
    name: "forbidden-port-answers",
    family: Family::Drift,
    title: "A forbidden port or protocol answers",
    severities: Severities::everywhere(Severity::High),
    rationale: "The policy forbids this port (usually a legacy plaintext service such as POP3 on \
        110 or IMAP on 143) or this protocol (LMTP) on every declared host, yet it accepts \
        connections. Retired services that keep answering keep their weaknesses, and nobody \
        watches them any more.",
    remediation: Remediation {
        generic: "Stop the listener or block the port at the firewall, then audit again.",
        postfix: "remove or comment out the service in master.cf and run `postfix reload`",
        dovecot: "set the listener's `port = 0` (e.g. `service pop3-login { inet_listener pop3 \
            { port = 0 } }`), or drop the protocol from `protocols`, and run `doveadm reload`",
        exim: "remove the port from `daemon_smtp_ports` and restart Exim",
    },
    references: &[
        POLICY_REFERENCE,
        Reference::rfc(
            "RFC 8314",
            "4.1",
            "cleartext mail access and submission are deprecated",
        ),
    ],
    check: Check::Audit(forbidden_port_answers),
};

fn forbidden_port_answers(audit: &Audit<'_>) -> Vec<AuditHit> {
    let policy = audit.policy;
    let mut out = Vec::new();
    for (i, ep) in audit.declared_hosts() {
        let port = ep.obs.address.port();
        let answered = matches!(
            ep.obs.state,
            PortState::Open | PortState::OpenNotMail | PortState::Throttled | PortState::Error
        );
        let forbidden_protocol: Option<Protocol> =
            ep.obs.protocol.filter(|p| policy.forbids_protocol(*p));
        let what = if answered && policy.forbids_port(port) {
            format!("Port {port} is forbidden by the policy")
        } else if let Some(p) = forbidden_protocol {
            format!("{p} is forbidden by the policy")
        } else {
            continue;
        };
        let mut proof = Vec::new();
        if let Some(g) = greeting(ep.obs) {
            proof.push(evidence("greeting", g));
        } else if !ep.obs.non_mail_reply.is_empty() {
            proof.push(evidence(
                "what the port said",
                ep.obs.non_mail_reply.clone(),
            ));
        }
        proof.push(evidence(
            "probe result",
            fact_lines([format!("state: {}", ep.obs.state.as_str())]),
        ));
        out.push(audit.on(
            i,
            Hit::new(
                format!(
                    "{what}, but {} answers on {}.",
                    facts::service(ep.obs),
                    ep.obs.target
                ),
                proof,
            ),
        ));
    }
    out
}
