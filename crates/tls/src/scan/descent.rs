//! The version descent of SSL 3.0 to TLS 1.2: each hello offers every
//! candidate suite up to a version and learns the best version below it
//! and that version's preferred suite; what a found version needs next is
//! spawned from here.

use mailwarden_model::{CipherOrder, SupportStatus, TlsScanMode, TlsVersion};

use super::answer::{Answer, Reply, reply, status_of};
use super::hellos::{LEGACY_VERSIONS, WeakClass, dhe_suites, legacy_candidates, lower};
use super::legacy::{MAX_RESUMES, SuitesTask, ask_curves, hello};
use super::pending::Pending;
use super::quick::ClassesTask;
use super::{Ctx, Next, Task};
/// Walks TLS 1.2, 1.1, 1.0, SSL 3.0 from the top: each probe offers every
/// candidate suite up to `max` and learns the best version below it and
/// that version's preferred suite.
pub(crate) struct DescentTask {
    max: Option<TlsVersion>,
    pending: Option<Pending>,
    offered: Vec<u16>,
    retried_without_dhe: bool,
    /// An ambiguous refusal of `max` awaits the server order of the best
    /// version to decide whether a retry without DHE can tell more.
    undecided: Option<String>,
    /// Throttled probes repeated in a row.
    resumed: u8,
    /// Quick mode: versions whose weak classes are being asked.
    classes_at: Vec<TlsVersion>,
}

impl DescentTask {
    pub(crate) fn new() -> Self {
        DescentTask {
            max: Some(TlsVersion::TLS12),
            pending: None,
            offered: Vec::new(),
            retried_without_dhe: false,
            undecided: None,
            resumed: 0,
            classes_at: Vec::new(),
        }
    }

    /// Decides an ambiguous refusal of `max` once the best version's order
    /// is known: a server that follows the client's order would have
    /// chosen any other suite before DHE (offered last), so a retry
    /// without DHE could only be refused too. Otherwise (or when the order
    /// stays unknown), the retry.
    fn decide(&mut self, max: TlsVersion, ctx: &mut Ctx<'_>) -> Option<Next> {
        let detail = self.undecided.take()?;
        let best = ctx.facts.highest_legacy().and_then(|v| ctx.facts.get(v));
        let order = best.and_then(|v| v.order);
        // Quick mode never asks the order.
        let settled = ctx.facts.mode == TlsScanMode::Quick
            || best.is_none_or(|v| v.suites_over || v.suites_complete);
        if order.is_none() && !settled {
            self.undecided = Some(detail);
            return Some(Next::Wait);
        }
        if order == Some(CipherOrder::Client) {
            ctx.facts.refuse(
                max,
                format!(
                    "{detail}; DHE was offered last to a server that follows the client's order"
                ),
            );
            self.go_below(max);
            return None;
        }
        self.retry_without_dhe(ctx);
        None
    }

    fn retry_without_dhe(&mut self, ctx: &Ctx<'_>) {
        self.retried_without_dhe = true;
        let dhe = dhe_suites();
        let rest = legacy_candidates()
            .into_iter()
            .filter(|c| !dhe.contains(c))
            .collect();
        self.pending = Some(Pending::new(rest, ctx.config.bundle_size));
    }

    pub(crate) fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if let Some(max) = self.max
            && let Some(next) = self.decide(max, ctx)
        {
            return next;
        }
        let Some(max) = self.max else {
            ctx.facts.legacy_known = true;
            return Next::Done;
        };
        let chunk = ctx.config.bundle_size;
        // Below a version already found, DHE goes last: a server that
        // follows the client's order then picks anything else first, so a
        // server without DH parameters is not mistaken for one without the
        // version.
        let below = ctx.facts.highest_legacy().is_some();
        let pending = self.pending.get_or_insert_with(|| {
            let mut candidates = legacy_candidates();
            if below {
                let dhe = dhe_suites();
                let (mut first, last): (Vec<u16>, Vec<u16>) =
                    candidates.into_iter().partition(|c| !dhe.contains(c));
                first.extend(last);
                candidates = first;
            }
            Pending::new(candidates, chunk)
        });
        let Some(offer) = pending.current() else {
            return Next::Done;
        };
        self.offered = offer.to_vec();
        Next::Probe {
            purpose: format!(
                "versions up to {max}: best version and its first suite ({} suites)",
                self.offered.len()
            ),
            send: hello(ctx, max, &self.offered),
        }
    }

    pub(crate) fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        let Some(max) = self.max else { return };
        if !matches!(reply(answer), Reply::Unknown(_)) {
            self.resumed = 0;
        }
        match reply(answer) {
            Reply::Chose { hello, flight } => {
                let (u, c) = (hello.version, hello.cipher_suite);
                if !LEGACY_VERSIONS.contains(&u) || u > max || !self.offered.contains(&c) {
                    ctx.facts.unknown(
                        max,
                        SupportStatus::Error,
                        format!("answered {u} with suite 0x{c:04x} outside the offer up to {max}"),
                    );
                    self.go_below(max);
                    return;
                }
                for v in LEGACY_VERSIONS.into_iter().filter(|&v| v > u && v <= max) {
                    ctx.facts
                        .refuse(v, format!("answered {u} to a hello offering up to {v}"));
                }
                ctx.facts.accept(u);
                ctx.facts.add_suite(u, c);
                ctx.facts
                    .observe_legacy(hello, flight, max > TlsVersion::SSL3);
                self.spawn_for(u, c, ctx);
                self.go_below(u);
            }
            Reply::Refused(r) if r.is_protocol_version() => {
                ctx.facts.refuse(max, r.detail.clone());
                for v in LEGACY_VERSIONS.into_iter().filter(|&v| v < max) {
                    ctx.facts.refuse(
                        v,
                        format!("inferred: a hello offering up to {max} got {}", r.detail),
                    );
                }
                self.max = None;
            }
            Reply::Refused(r) if ctx.facts.highest_legacy().is_some() => {
                // A version below one already accepted. Splitting every
                // ambiguous refusal by family would cost servers that never
                // send alerts (Dovecot) several probes per version; one
                // retry without the finite-field DHE suites (what servers
                // without DH parameters choose and cannot complete) covers
                // the case that matters.
                if r.is_ambiguous() && !self.retried_without_dhe {
                    self.undecided = Some(r.detail);
                    return;
                }
                let detail = if self.retried_without_dhe {
                    format!("{}, also without DHE suites", r.detail)
                } else {
                    r.detail
                };
                ctx.facts.refuse(max, detail);
                self.go_below(max);
            }
            Reply::Refused(r) => {
                let Some(pending) = self.pending.as_mut() else {
                    return;
                };
                pending.refused(r.is_ambiguous());
                if pending.is_empty() {
                    let detail = if pending.was_split() {
                        format!("{}, also for each key-exchange family alone", r.detail)
                    } else {
                        r.detail
                    };
                    ctx.facts.refuse(max, detail);
                    self.go_below(max);
                }
            }
            Reply::Unknown(f) => {
                let status = status_of(&f);
                if status == SupportStatus::Throttled && self.resumed < MAX_RESUMES {
                    // Again, where we stood, after the driver's backoff.
                    self.resumed += 1;
                    return;
                }
                ctx.facts.unknown(max, status, f.to_string());
                if status == SupportStatus::Throttled {
                    for v in LEGACY_VERSIONS.into_iter().filter(|&v| v < max) {
                        ctx.facts
                            .unknown(v, status, "not asked: the server throttled us".into());
                    }
                    self.max = None;
                } else {
                    self.go_below(max);
                }
            }
        }
    }

    fn go_below(&mut self, v: TlsVersion) {
        self.max = lower(v);
        self.pending = None;
        self.retried_without_dhe = false;
    }

    /// What to ask about a version the descent just found.
    fn spawn_for(&mut self, version: TlsVersion, first: u16, ctx: &mut Ctx<'_>) {
        match ctx.facts.mode {
            TlsScanMode::Full => {
                let remaining = legacy_candidates()
                    .into_iter()
                    .filter(|&s| s != first)
                    .collect();
                let task = if ctx.facts.highest_legacy() == Some(version) {
                    SuitesTask::anchored(version, remaining, first)
                } else {
                    SuitesTask::new(version, remaining)
                };
                let task = task.opened(ctx);
                ctx.spawn.push(task);
                ask_curves(version, ctx);
            }
            TlsScanMode::Quick => {
                for k in WeakClass::of(first) {
                    if !ctx.facts.weak_found.contains(&k) {
                        ctx.facts.weak_found.push(k);
                    }
                }
                // Weak classes at the best version, and again at the best
                // one of TLS 1.0 or older (EXPORT and DES live there).
                let first_found = self.classes_at.is_empty();
                let old = version <= TlsVersion::TLS10
                    && !self.classes_at.iter().any(|&v| v <= TlsVersion::TLS10);
                if first_found || old {
                    self.classes_at.push(version);
                    ctx.spawn
                        .push(Task::Classes(ClassesTask::new(version, first, first_found)));
                }
            }
        }
    }
}
