//! The detection engine: per-source and per-account windows fed by events.

use std::collections::VecDeque;

use crate::hash::FastMap;

use jiff::Timestamp;

use super::dedup::AttemptCounter;
use super::state::{Distinct, Ring, Samples, hash_name};
use super::summary::{Counts, SourceSummary, message, summarize};
use super::{Alert, Detector, SourceKey, Thresholds};
use crate::event::{Event, EventKind, LineRef, TlsReason};

const EVIDENCE_KEPT: usize = 64;
const EVIDENCE_CITED: usize = 20;
const SWEEP_EVERY: u64 = 8192;

// Evidence tags: which detectors a line supports.
const T_FAIL: u8 = 1;
const T_IDLE: u8 = 2;
const T_RELAY: u8 = 4;
const T_TLS: u8 = 8;
const T_PROTO: u8 = 16;
const T_RATE: u8 = 32;
const T_OK: u8 = 64;
const T_MSG: u8 = 128;

#[derive(Debug, Default)]
pub(super) struct Source {
    pub(super) first: Option<Timestamp>,
    pub(super) last: Option<Timestamp>,
    pub(super) last_secs: i64,
    pub(super) counts: Counts,
    pub(super) had_success: bool,
    pub(super) fired: u16,
    pub(super) alerts: Vec<Detector>,
    pub(super) services: Samples,
    pub(super) service_keys: Vec<u64>,
    pub(super) users: Samples,
    pub(super) failures: Ring,
    pub(super) per_user: Vec<(u64, Ring)>,
    pub(super) accounts: Distinct,
    pub(super) idle: Ring,
    pub(super) idle_ports: Distinct,
    pub(super) relay: Ring,
    pub(super) tls: Ring,
    pub(super) downgrade: Ring,
    pub(super) protocol: Ring,
    pub(super) rate: Ring,
    pub(super) evidence: VecDeque<(LineRef, u8)>,
}

#[derive(Debug, Default)]
struct Account {
    name: Box<str>,
    last: i64,
    failing: Vec<(SourceKey, i64)>,
    alerted: bool,
    volume_window: i64,
    recipients: u32,
    domains: Distinct,
    busiest: u32,
    spiked: bool,
}

/// The engine. Feed it every event with [`Engine::observe`].
#[derive(Debug)]
pub struct Engine {
    t: Thresholds,
    sources: FastMap<SourceKey, Source>,
    accounts: FastMap<u64, Account>,
    dedup: AttemptCounter,
    allow: Vec<(SourceKey, u8)>,
    now: i64,
    now_ts: Option<Timestamp>,
    observed: u64,
    /// Sources that were tracked and then expired without any alert.
    pub expired_quiet: u64,
}

impl Engine {
    /// An engine with these thresholds.
    pub fn new(t: Thresholds) -> Engine {
        Engine {
            t,
            sources: FastMap::default(),
            accounts: FastMap::default(),
            dedup: AttemptCounter::default(),
            allow: Vec::new(),
            now: 0,
            now_ts: None,
            observed: 0,
            expired_quiet: 0,
        }
    }

    /// Never alert on sources inside `network/prefix` (monitoring, own relays).
    pub fn allow(&mut self, network: std::net::IpAddr, prefix: u8) {
        let key = SourceKey::of(network, if network.is_ipv4() { 128 } else { prefix });
        self.allow.push((key, prefix));
    }

    /// The thresholds in force.
    pub fn thresholds(&self) -> &Thresholds {
        &self.t
    }

    /// Sources tracked right now (the memory bound).
    pub fn tracked_sources(&self) -> usize {
        self.sources.len()
    }

    /// Feeds one event: sets its `counted` attempts and pushes any alerts it triggers.
    pub fn observe(&mut self, event: &mut Event, alerts: &mut Vec<Alert>) {
        if let Some(time) = event.time {
            let secs = time.as_second();
            if secs >= self.now {
                self.now = secs;
                self.now_ts = Some(time);
            }
        }
        let t = event.time.map_or(self.now, |x| x.as_second());
        let counted = self.dedup.count(event, t);
        if let EventKind::AuthFailed { counted: c, .. } = &mut event.kind {
            *c = counted;
        }
        self.observed += 1;
        if self.observed.is_multiple_of(SWEEP_EVERY) {
            self.sweep();
        }
        let Some(addr) = event.source else {
            return;
        };
        let key = SourceKey::of(addr, self.t.ipv6_prefix);
        if self.allowed(addr) {
            return;
        }
        self.source_event(key, event, t, counted, alerts);
        if let EventKind::MessageSubmitted {
            recipients,
            domains,
        } = &event.kind
        {
            self.volume(key, event, t, *recipients, domains, alerts);
        }
    }

    fn allowed(&self, addr: std::net::IpAddr) -> bool {
        self.allow.iter().any(|(net, prefix)| match (net, addr) {
            (SourceKey::V4(n), std::net::IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(u32::from(32 - (*prefix).min(32)))
                    .unwrap_or(0);
                u32::from(*n) & mask == u32::from(a) & mask
            }
            (SourceKey::V6(..), std::net::IpAddr::V6(_)) => SourceKey::of(addr, *prefix) == *net,
            _ => false,
        })
    }

    fn source_event(
        &mut self,
        key: SourceKey,
        e: &Event,
        t: i64,
        counted: u32,
        alerts: &mut Vec<Alert>,
    ) {
        // Only what can feed a detector opens state for a source; the rest
        // (connections, TLS sessions, ordinary disconnects and rejections)
        // is counted for sources already tracked. Mail from thousands of
        // ordinary peers then costs no memory.
        let opens = match &e.kind {
            EventKind::AuthFailed { .. } => counted > 0,
            EventKind::Disconnect { idle, .. } => *idle,
            EventKind::Connect
            | EventKind::TlsEstablished { .. }
            | EventKind::Rejected { .. }
            | EventKind::LostConnection { .. }
            | EventKind::PlaintextAllowed { .. } => false,
            _ => true,
        };
        if !opens && !self.sources.contains_key(&key) {
            return;
        }
        let th = self.t.clone();
        let s = self.sources.entry(key).or_default();
        // Inputs are read one after the other: times may go back when the next file starts.
        if let Some(time) = e.time.or(self.now_ts) {
            s.first = Some(s.first.map_or(time, |f| f.min(time)));
            s.last = Some(s.last.map_or(time, |l| l.max(time)));
        }
        s.last_secs = t;
        if let Some(service) = &e.service
            && &**service != "auth"
        {
            let key = hash_name(service)
                ^ u64::from(e.port.unwrap_or(0)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            if !s.service_keys.contains(&key) && s.service_keys.len() < 16 {
                s.service_keys.push(key);
                let label = match e.port {
                    Some(p) => format!("{service}/{p}"),
                    None => service.to_string(),
                };
                s.services.add(&label, 16);
            }
        }
        let mut fire: Vec<(Detector, u32, u64)> = Vec::new();
        let mut tag = 0u8;
        match &e.kind {
            EventKind::Connect => s.counts.connect += 1,
            EventKind::AuthFailed { .. } if counted > 0 => {
                tag = T_FAIL;
                s.counts.auth_failed += counted;
                let user = e.user.as_deref().unwrap_or("");
                s.users.add(user, 8);
                let n = s.failures.push(
                    t,
                    counted,
                    th.success_after_failures.count.max(th.brute_force.count),
                    th.success_after_failures
                        .window_secs
                        .max(th.brute_force.window_secs),
                );
                let _ = n;
                let h = hash_name(user);
                let i = match s.per_user.iter().position(|(k, _)| *k == h) {
                    Some(i) => i,
                    None => {
                        if s.per_user.len() >= 16 {
                            s.per_user.remove(0);
                        }
                        s.per_user.push((h, Ring::default()));
                        s.per_user.len() - 1
                    }
                };
                let ring = &mut s.per_user[i].1;
                let n = ring.push(t, counted, th.brute_force.count, th.brute_force.window_secs);
                if n >= th.brute_force.count {
                    fire.push((Detector::BruteForce, n, th.brute_force.window_secs));
                }
                let n = s
                    .accounts
                    .insert(h, t, th.spraying.count, th.spraying.window_secs);
                if n >= th.spraying.count {
                    fire.push((Detector::PasswordSpraying, n, th.spraying.window_secs));
                }
            }
            EventKind::AuthFailed { .. } => {}
            EventKind::AuthSucceeded { .. } => {
                tag = T_OK;
                s.counts.auth_succeeded += 1;
                s.had_success = true;
                let rule = th.success_after_failures;
                let n = s.failures.count(t, rule.window_secs);
                if n >= rule.count {
                    fire.push((Detector::SuccessAfterFailures, n, rule.window_secs));
                }
            }
            EventKind::RelayDenied { .. } => {
                tag = T_RELAY;
                s.counts.relay_denied += 1;
                let n = s
                    .relay
                    .push(t, 1, th.relay_probing.count, th.relay_probing.window_secs);
                if n >= th.relay_probing.count {
                    fire.push((Detector::RelayProbing, n, th.relay_probing.window_secs));
                }
            }
            EventKind::Rejected { .. } => s.counts.rejected += 1,
            EventKind::TlsFailed { reason, .. } if *reason == TlsReason::ClientAborted => {
                tag = T_IDLE;
                s.counts.tls_failed += 1;
                idle(s, e, t, &th, &mut fire);
            }
            EventKind::TlsFailed { reason, .. } => {
                tag = T_TLS;
                s.counts.tls_failed += 1;
                let n = s
                    .tls
                    .push(t, 1, th.tls_failures.count, th.tls_failures.window_secs);
                if n >= th.tls_failures.count {
                    fire.push((Detector::TlsFailures, n, th.tls_failures.window_secs));
                }
                if reason.is_downgrade() {
                    let n = s.downgrade.push(
                        t,
                        1,
                        th.tls_downgrade.count,
                        th.tls_downgrade.window_secs,
                    );
                    if n >= th.tls_downgrade.count {
                        fire.push((Detector::TlsDowngrade, n, th.tls_downgrade.window_secs));
                    }
                }
            }
            EventKind::PlaintextRefused => s.counts.plaintext_refused += 1,
            EventKind::ProtocolError { .. } => {
                tag = T_PROTO;
                s.counts.protocol_errors += 1;
                let r = th.protocol_violations;
                let n = s.protocol.push(t, 1, r.count, r.window_secs);
                if n >= r.count {
                    fire.push((Detector::ProtocolViolations, n, r.window_secs));
                }
            }
            EventKind::RateLimited { .. } => {
                tag = T_RATE;
                s.counts.rate_limited += 1;
                let r = th.rate_limited;
                let n = s.rate.push(t, 1, r.count, r.window_secs);
                if n >= r.count {
                    fire.push((Detector::RateLimited, n, r.window_secs));
                }
            }
            EventKind::LostConnection { .. } => s.counts.lost_connections += 1,
            EventKind::Disconnect { idle: true, .. } => {
                tag = T_IDLE;
                idle(s, e, t, &th, &mut fire);
            }
            EventKind::MessageSubmitted { .. } => {
                tag = T_MSG;
                s.counts.messages += 1;
            }
            EventKind::Disconnect { .. }
            | EventKind::TlsEstablished { .. }
            | EventKind::PlaintextAllowed { .. } => {}
        }
        if tag != 0 {
            if s.evidence.len() >= EVIDENCE_KEPT {
                s.evidence.pop_front();
            }
            s.evidence.push_back((
                LineRef {
                    file: e.file.clone(),
                    line: e.line,
                },
                tag,
            ));
        }
        if tag == T_FAIL
            && let Some(user) = e.user.as_deref()
        {
            self.distributed(key, user, t, alerts);
        }
        for (detector, count, window) in fire {
            self.fire(key, detector, count, window, e.time, e.user.clone(), alerts);
        }
        if self.sources.len() > self.t.max_sources {
            self.evict_oldest();
        }
    }

    fn distributed(&mut self, key: SourceKey, user: &str, t: i64, alerts: &mut Vec<Alert>) {
        let rule = self.t.distributed;
        let window = i64::try_from(rule.window_secs).unwrap_or(i64::MAX);
        let account = self.accounts.entry(hash_name(user)).or_default();
        if account.name.is_empty() {
            account.name = user.into();
        }
        account.last = t;
        account.failing.retain(|(_, last)| t - last <= window);
        let cap = (rule.count as usize).saturating_mul(8).max(64);
        if let Some(item) = account.failing.iter_mut().find(|(k, _)| *k == key) {
            item.1 = t;
        } else if account.failing.len() < cap {
            account.failing.push((key, t));
        }
        let n = u32::try_from(account.failing.len()).unwrap_or(u32::MAX);
        if n < rule.count {
            return;
        }
        account.alerted = true;
        let name: Box<str> = account.name.clone();
        let members: Vec<SourceKey> = account.failing.iter().map(|(k, _)| *k).collect();
        let time = self.now_ts;
        for member in members {
            // A source that also logged in successfully is a user who mistyped, not an attacker.
            if self.sources.get(&member).is_some_and(|s| s.had_success) {
                continue;
            }
            self.fire(
                member,
                Detector::DistributedAttack,
                n,
                rule.window_secs,
                time,
                Some(name.clone()),
                alerts,
            );
        }
    }

    fn volume(
        &mut self,
        key: SourceKey,
        e: &Event,
        t: i64,
        recipients: u32,
        domains: &[Box<str>],
        alerts: &mut Vec<Alert>,
    ) {
        let Some(user) = e.user.as_deref() else {
            return;
        };
        let v = self.t.volume;
        let window = i64::try_from(v.window_secs.max(1)).unwrap_or(i64::MAX);
        let account = self.accounts.entry(hash_name(user)).or_default();
        if account.name.is_empty() {
            account.name = user.into();
        }
        account.last = t;
        if t - account.volume_window >= window {
            account.busiest = account.busiest.max(account.recipients);
            account.volume_window = t;
            account.recipients = 0;
            account.domains = Distinct::default();
            account.spiked = false;
        }
        account.recipients = account.recipients.saturating_add(recipients);
        let mut spread = 0;
        for d in domains {
            spread = account.domains.insert(
                hash_name(d),
                t,
                v.domains.saturating_mul(2).max(1),
                v.window_secs,
            );
        }
        let baseline = f64::from(account.busiest);
        let jump = account.busiest > 0
            && account.recipients >= v.min_recipients
            && f64::from(account.recipients) >= baseline * v.factor;
        if account.spiked || !(account.recipients >= v.recipients || spread >= v.domains || jump) {
            return;
        }
        account.spiked = true;
        let count = account.recipients.max(spread);
        self.fire(
            key,
            Detector::SendingSpike,
            count,
            v.window_secs,
            e.time,
            e.user.clone(),
            alerts,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn fire(
        &mut self,
        key: SourceKey,
        detector: Detector,
        count: u32,
        window_secs: u64,
        time: Option<Timestamp>,
        user: Option<Box<str>>,
        alerts: &mut Vec<Alert>,
    ) {
        let Some(s) = self.sources.get_mut(&key) else {
            return;
        };
        if s.fired & detector.bit() != 0 {
            return;
        }
        s.fired |= detector.bit();
        s.alerts.push(detector);
        let wanted = match detector {
            Detector::BruteForce | Detector::PasswordSpraying | Detector::DistributedAttack => {
                T_FAIL
            }
            Detector::SuccessAfterFailures => T_FAIL | T_OK,
            Detector::Scanning => T_IDLE,
            Detector::RelayProbing => T_RELAY,
            Detector::TlsFailures | Detector::TlsDowngrade => T_TLS,
            Detector::ProtocolViolations => T_PROTO,
            Detector::RateLimited => T_RATE,
            Detector::SendingSpike => T_MSG | T_OK,
        };
        let mut evidence: Vec<LineRef> = s
            .evidence
            .iter()
            .rev()
            .filter(|(_, tag)| tag & wanted != 0)
            .take(EVIDENCE_CITED)
            .map(|(l, _)| l.clone())
            .collect();
        evidence.reverse();
        let mut users: Vec<Box<str>> = match (&user, detector) {
            (_, Detector::PasswordSpraying) => s.users.items().to_vec(),
            (Some(u), _) => vec![u.clone()],
            (None, _) => Vec::new(),
        };
        users.retain(|u| !u.is_empty());
        let message = message(detector, count, window_secs, &users, s);
        alerts.push(Alert {
            alert: detector,
            severity: detector.severity(),
            source: key,
            time,
            first_seen: s.first,
            count,
            window_secs,
            users,
            services: s.services.items().to_vec(),
            message,
            evidence,
        });
    }

    fn sweep(&mut self) {
        let horizon = [
            self.t.brute_force,
            self.t.spraying,
            self.t.scanning_ports,
            self.t.scanning_sessions,
            self.t.relay_probing,
            self.t.tls_failures,
            self.t.tls_downgrade,
            self.t.protocol_violations,
            self.t.rate_limited,
            self.t.success_after_failures,
        ]
        .iter()
        .map(|r| r.window_secs)
        .max()
        .unwrap_or(3600);
        let horizon = i64::try_from(horizon).unwrap_or(i64::MAX);
        let now = self.now;
        let before = self.sources.len();
        self.sources
            .retain(|_, s| !s.alerts.is_empty() || now - s.last_secs <= horizon);
        self.expired_quiet += (before - self.sources.len()) as u64;
        let account_horizon = i64::try_from(
            self.t
                .distributed
                .window_secs
                .max(self.t.volume.window_secs * 24),
        )
        .unwrap_or(i64::MAX);
        self.accounts.retain(|_, a| now - a.last <= account_horizon);
    }

    fn evict_oldest(&mut self) {
        self.sweep();
        while self.sources.len() > self.t.max_sources {
            let oldest = self
                .sources
                .iter()
                .filter(|(_, s)| s.alerts.is_empty())
                .min_by_key(|(_, s)| s.last_secs)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => {
                    self.sources.remove(&k);
                    self.expired_quiet += 1;
                }
                None => break,
            }
        }
    }

    /// Sources with at least one alert, worst first.
    pub fn summary(&self) -> Vec<SourceSummary> {
        summarize(&self.sources)
    }

    /// Sources not alerted on that are still tracked.
    pub fn quiet_sources(&self) -> usize {
        self.sources
            .values()
            .filter(|s| s.alerts.is_empty())
            .count()
    }
}

fn idle(s: &mut Source, e: &Event, t: i64, th: &Thresholds, fire: &mut Vec<(Detector, u32, u64)>) {
    s.counts.idle_sessions += 1;
    let endpoint = format!(
        "{}|{}|{}",
        e.service.as_deref().unwrap_or(""),
        e.port.map_or(0, u32::from),
        e.local.map(|l| l.to_string()).unwrap_or_default()
    );
    let ports = s.idle_ports.insert(
        hash_name(&endpoint),
        t,
        th.scanning_ports.count,
        th.scanning_ports.window_secs,
    );
    let sessions = s.idle.push(
        t,
        1,
        th.scanning_sessions.count,
        th.scanning_sessions.window_secs,
    );
    if s.had_success {
        return;
    }
    if ports >= th.scanning_ports.count {
        fire.push((Detector::Scanning, ports, th.scanning_ports.window_secs));
    } else if sessions >= th.scanning_sessions.count {
        fire.push((
            Detector::Scanning,
            sessions,
            th.scanning_sessions.window_secs,
        ));
    }
}
