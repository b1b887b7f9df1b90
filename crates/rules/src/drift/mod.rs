//! DRIFT rules: differences between what a policy file declares
//! (`mailwarden-policy`) and what a scan observed. They run only when the
//! [`AssessContext`](crate::AssessContext) carries a policy, and only on the
//! endpoints of hosts the policy declares.
//!
//! * [`declared`]: undeclared open ports, declared services that are down,
//!   forbidden ports or protocols that answer, the wrong protocol.
//! * [`mode`]: the TLS and authentication modes against the declared ones.
//! * [`baseline`]: versions, suites, keys and features outside the baseline.
//! * [`certs`]: certificates that differ among the endpoints of one service.

pub(crate) mod baseline;
pub(crate) mod certs;
pub(crate) mod declared;
pub(crate) mod mode;

use mailwarden_model::TargetResult;
use mailwarden_policy::{Policy, Service, same_host};

use crate::facts::{Endpoint, Hit};

/// What a drift check sees: every endpoint of the scan, the targets, and the policy.
pub(crate) struct Audit<'a> {
    /// Every endpoint, with context and posture computed.
    pub endpoints: &'a [Endpoint<'a>],
    /// The targets and their resolution.
    pub targets: &'a [TargetResult],
    /// The declared architecture.
    pub policy: &'a Policy,
}

/// A drift finding: about one endpoint (by index into [`Audit::endpoints`]),
/// or about a declared host and port that has no endpoint (`endpoint: None`).
pub(crate) struct AuditHit {
    /// The endpoint concerned.
    pub endpoint: Option<usize>,
    /// The target (host) concerned.
    pub target: String,
    /// For hits without an endpoint: the declared port, for the context.
    pub port: Option<(u16, mailwarden_model::ServiceRole)>,
    /// Sentence and evidence.
    pub hit: Hit,
}

impl<'a> Audit<'a> {
    /// The endpoints on hosts the policy declares, with their index.
    pub fn declared_hosts(&self) -> impl Iterator<Item = (usize, &'a Endpoint<'a>)> + '_ {
        let hosts = self.policy.hosts();
        self.endpoints
            .iter()
            .enumerate()
            .filter(move |(_, ep)| hosts.iter().any(|h| same_host(h, &ep.obs.target)))
    }

    /// The endpoints a service declares (its hosts and ports), with their index.
    pub fn of_service<'s>(
        &'s self,
        service: &'s Service,
    ) -> impl Iterator<Item = (usize, &'a Endpoint<'a>)> + 's {
        self.endpoints
            .iter()
            .enumerate()
            .filter(move |(_, ep)| service.covers(&ep.obs.target, ep.obs.address.port()))
    }

    /// A hit on endpoint `i`.
    pub fn on(&self, i: usize, hit: Hit) -> AuditHit {
        AuditHit {
            endpoint: Some(i),
            target: self
                .endpoints
                .get(i)
                .map(|e| e.obs.target.clone())
                .unwrap_or_default(),
            port: None,
            hit,
        }
    }
}

/// "service `submission` (tls = \"starttls-required\")".
pub(crate) fn service_label(service: &Service) -> String {
    format!("service `{}`", service.name)
}
