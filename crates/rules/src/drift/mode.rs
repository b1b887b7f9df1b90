//! The TLS mode and the authentication of declared services, against what
//! the posture verdict and the capability listings show.

use mailwarden_model::{PortState, Posture, Protocol, Severity};
use mailwarden_policy::{AuthMode, Service, TlsMode};

use super::{Audit, AuditHit, service_label};
use crate::catalogue::{Check, Family, Level, Reference, Remediation, Rule, Severities};
use crate::facts::{self, Endpoint, Hit, evidence, fact_lines};
use crate::posture::describe;

/// MW-DRIFT-003.
pub(crate) const TLS_WEAKER_THAN_DECLARED: Rule = Rule {
    id: "MW-DRIFT-003",
    name: "tls-weaker-than-declared",
    family: Family::Drift,
    title: "A service protects sessions less than its declared TLS mode",
    severities: Severities {
        mx: Level::At(Severity::Medium),
        ..Severities::everywhere(Severity::High)
    },
    rationale: "The policy promises a TLS mode (STARTTLS required, implicit TLS) and the port \
        no longer delivers it: enforcement was switched off, STARTTLS disappeared, or TLS broke. \
        Clients configured after the architecture keep working, so nobody notices that \
        passwords or mail may now cross the network in clear.",
    remediation: Remediation {
        generic: "Restore the declared mode (require TLS before authentication and mail, or \
            serve implicit TLS), then audit again.",
        postfix: "for the service in master.cf: `-o smtpd_tls_security_level=encrypt -o \
            smtpd_tls_auth_only=yes` (STARTTLS required) or `-o smtpd_tls_wrappermode=yes` \
            (implicit TLS)",
        dovecot: "`ssl = required` and `disable_plaintext_auth = yes` (2.3) / \
            `auth_allow_cleartext = no` (2.4); `ssl = yes` on the implicit-TLS listener",
        exim: "`tls_advertise_hosts = *` and an ACL refusing AUTH and MAIL without \
            `encrypted = *`; `tls_on_connect_ports` for implicit TLS",
    },
    references: &[
        Reference::rfc("RFC 8314", "3", "implicit TLS for submission and access"),
        Reference::rfc(
            "RFC 3207",
            "4",
            "a server that is not a public MX may require STARTTLS",
        ),
    ],
    check: Check::Audit(tls_weaker),
};

/// MW-DRIFT-004.
pub(crate) const TLS_MODE_DIFFERS: Rule = Rule {
    id: "MW-DRIFT-004",
    name: "tls-mode-differs-from-declared",
    family: Family::Drift,
    title: "A service uses another TLS mode than declared (not a weaker one)",
    severities: Severities::everywhere(Severity::Low),
    rationale: "The port protects sessions at least as well as declared, but differently: \
        implicit TLS where STARTTLS was declared (or the reverse), or STARTTLS where plaintext \
        was declared. Clients configured after the architecture fail to connect, and the file no \
        longer describes the system.",
    remediation: Remediation {
        generic: "Update the policy file to the mode the service really has, or put the \
            declared mode back.",
        postfix: "compare `smtpd_tls_wrappermode` and `smtpd_tls_security_level` of the service \
            with the declaration",
        dovecot: "compare the listener's `ssl = yes` (implicit) with the declaration",
        exim: "compare `tls_on_connect_ports` with the declaration",
    },
    references: &[Reference::rfc(
        "RFC 8314",
        "3",
        "implicit TLS and STARTTLS ports are separate services",
    )],
    check: Check::Audit(tls_differs),
};

/// The observed mode of a declared endpoint, or why there is none.
enum Seen {
    Mode(TlsMode),
    Broken,
}

fn seen(ep: &Endpoint<'_>, service: &Service) -> Option<Seen> {
    if ep.obs.state != PortState::Open || ep.obs.protocol != Some(service.protocol) {
        return None;
    }
    match ep.posture {
        Posture::TlsBroken => Some(Seen::Broken),
        p => TlsMode::of_posture(p).map(Seen::Mode),
    }
}

fn mode_evidence(ep: &Endpoint<'_>, service: &Service) -> Vec<mailwarden_model::Evidence> {
    vec![evidence(
        "declared and observed",
        fact_lines([
            format!(
                "declared: tls = \"{}\" ({})",
                service.tls,
                service_label(service)
            ),
            format!(
                "observed: {} ({})",
                ep.posture.as_str(),
                describe(ep.posture)
            ),
        ]),
    )]
}

fn tls_weaker(audit: &Audit<'_>) -> Vec<AuditHit> {
    let mut out = Vec::new();
    for service in &audit.policy.services {
        for (i, ep) in audit.of_service(service) {
            let weaker = match seen(ep, service) {
                Some(Seen::Broken) => service.tls != TlsMode::Plaintext,
                Some(Seen::Mode(m)) => service.tls.weakened_by(m),
                None => false,
            };
            if !weaker {
                continue;
            }
            let mut proof = mode_evidence(ep, service);
            if let Some(auth) = facts::auth_before_tls(ep.obs) {
                proof.push(facts::auth_evidence(ep.obs, &auth));
            }
            for probe in facts::probes_with(
                ep.obs,
                mailwarden_model::EnforcementOutcome::AcceptedWithoutTls,
            ) {
                proof.push(facts::probe_evidence(probe));
            }
            out.push(audit.on(
                i,
                Hit::new(
                    format!(
                        "{} on {} is {}, weaker than the declared tls = \"{}\" of {}.",
                        facts::service(ep.obs),
                        ep.obs.target,
                        ep.posture.as_str(),
                        service.tls,
                        service_label(service)
                    ),
                    proof,
                ),
            ));
        }
    }
    out
}

fn tls_differs(audit: &Audit<'_>) -> Vec<AuditHit> {
    let mut out = Vec::new();
    for service in &audit.policy.services {
        for (i, ep) in audit.of_service(service) {
            let Some(Seen::Mode(m)) = seen(ep, service) else {
                continue;
            };
            if service.tls.satisfied_by(m) || service.tls.weakened_by(m) {
                continue;
            }
            out.push(audit.on(
                i,
                Hit::new(
                    format!(
                        "{} on {} is {}, not the declared tls = \"{}\" of {}.",
                        facts::service(ep.obs),
                        ep.obs.target,
                        ep.posture.as_str(),
                        service.tls,
                        service_label(service)
                    ),
                    mode_evidence(ep, service),
                ),
            ));
        }
    }
    out
}

/// MW-DRIFT-005.
pub(crate) const AUTH_DIFFERS: Rule = Rule {
    id: "MW-DRIFT-005",
    name: "auth-differs-from-declared",
    family: Family::Drift,
    title: "Authentication is offered differently than declared",
    severities: Severities::everywhere(Severity::Medium),
    rationale: "The policy says where a service offers authentication: nowhere (an MX), only \
        after TLS, or at all. An MX that starts offering AUTH becomes a password-guessing \
        target; a submission port that offers it before TLS exposes passwords; one that offers \
        none cannot serve its users.",
    remediation: Remediation {
        generic: "Configure authentication as declared, or correct the declaration.",
        postfix: "`smtpd_sasl_auth_enable` (per service in master.cf) and `smtpd_tls_auth_only = yes`",
        dovecot: "`disable_plaintext_auth = yes` (2.3) / `auth_allow_cleartext = no` (2.4), and \
            `auth_mechanisms`",
        exim: "the authenticators and `auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}`",
    },
    references: &[
        Reference::rfc(
            "RFC 4954",
            "4",
            "SMTP AUTH: the server advertises the mechanisms",
        ),
        Reference::rfc(
            "RFC 8314",
            "4.1",
            "authentication only over TLS for submission and access",
        ),
    ],
    check: Check::Audit(auth_differs),
};

/// `(before TLS, inside TLS)` for [`crate::auth_offered`].
pub(crate) fn offered(obs: &mailwarden_model::EndpointObservation) -> (bool, bool) {
    let before = facts::auth_before_tls(obs).is_some();
    let inside = facts::caps_inside_tls(obs)
        .iter()
        .any(|(_, caps)| listing_offers(obs, caps));
    (before, inside)
}

fn listing_offers(
    obs: &mailwarden_model::EndpointObservation,
    caps: &mailwarden_model::Capabilities,
) -> bool {
    !caps.auth_mechanisms.is_empty()
        || (obs.protocol == Some(Protocol::Imap) && !caps.login_disabled)
        || (obs.protocol == Some(Protocol::Pop3) && caps.keywords.iter().any(|k| k == "USER"))
}

/// Whether authentication is offered inside TLS (or, for a plaintext
/// service, in the session): `None` when no listing was read there.
fn offered_inside(ep: &Endpoint<'_>, service: &Service) -> Option<bool> {
    if service.tls == TlsMode::Plaintext {
        return facts::caps_before_tls(ep.obs).map(|_| facts::auth_before_tls(ep.obs).is_some());
    }
    let listings = facts::caps_inside_tls(ep.obs);
    if listings.is_empty() {
        return None;
    }
    Some(
        listings
            .iter()
            .any(|(_, caps)| listing_offers(ep.obs, caps)),
    )
}

fn auth_differs(audit: &Audit<'_>) -> Vec<AuditHit> {
    let mut out = Vec::new();
    for service in &audit.policy.services {
        for (i, ep) in audit.of_service(service) {
            if ep.obs.state != PortState::Open || ep.obs.protocol != Some(service.protocol) {
                continue;
            }
            let before = facts::auth_before_tls(ep.obs);
            let inside = offered_inside(ep, service);
            let problem = match service.auth {
                AuthMode::Optional => None,
                AuthMode::None if before.is_some() || inside == Some(true) => {
                    Some("offers authentication")
                }
                AuthMode::Required | AuthMode::AfterTls if inside == Some(false) => {
                    Some("offers no authentication")
                }
                AuthMode::AfterTls if before.is_some() && service.tls != TlsMode::Plaintext => {
                    Some("offers authentication before TLS")
                }
                _ => None,
            };
            let Some(problem) = problem else {
                continue;
            };
            let mut proof = vec![evidence(
                "declared",
                fact_lines([format!(
                    "auth = \"{}\" ({})",
                    service.auth,
                    service_label(service)
                )]),
            )];
            if let Some(auth) = &before {
                proof.push(facts::auth_evidence(ep.obs, auth));
            }
            for (via, caps) in facts::caps_inside_tls(ep.obs) {
                proof.push(evidence(
                    format!("reply to `{}` over {}", caps.command, via.as_str()),
                    facts::lines_mentioning(&caps.reply, &["AUTH", "SASL", "LOGIN", "USER"]),
                ));
            }
            out.push(audit.on(
                i,
                Hit::new(
                    format!(
                        "{} on {} {problem}, but {} declares auth = \"{}\".",
                        facts::service(ep.obs),
                        ep.obs.target,
                        service_label(service),
                        service.auth
                    ),
                    proof,
                ),
            ));
        }
    }
    out
}
