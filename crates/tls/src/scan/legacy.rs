//! Tasks for SSL 3.0 to TLS 1.2: the version descent, per-version suite
//! enumeration (full), weak-class enumeration and the DHE probe (quick),
//! and the ECDHE curves of the best legacy version (full).

use mailwarden_model::{CipherOrder, SupportStatus, TlsScanMode, TlsVersion};

use super::answer::{Answer, Reply, reply, status_of};
use super::hellos::{
    LEGACY_VERSIONS, WeakClass, class_suites, dhe_suites, ecdhe_curves, is_ecdhe,
    legacy_candidates, lower,
};
use super::pending::Pending;
use super::{Ctx, Next, Send, Task, extras};
use crate::registry::suite;
use crate::wire::NamedGroup;

/// How often a task repeats a probe that stayed throttled through the
/// driver's own retries, before it reports what it asked as `throttled`.
pub(crate) const MAX_RESUMES: u8 = 2;

fn hello(ctx: &Ctx<'_>, max: TlsVersion, suites: &[u16]) -> Send {
    Send::Hello(ctx.hellos.legacy(ctx.seed, max, suites).encode())
}

/// A suites probe. At the best legacy version it also asks about a curve:
/// the curves not seen in any answer yet go first, starting at a different
/// one in each probe (by seed, so that parallel lanes ask different ones),
/// and a server that follows the client's order of curves shows one more
/// in its ServerKeyExchange at no cost. The curves task then has only what
/// no suite probe showed left to ask.
fn suites_hello(ctx: &Ctx<'_>, max: TlsVersion, suites: &[u16]) -> Send {
    if ctx.facts.highest_legacy() != Some(max) {
        return hello(ctx, max, suites);
    }
    let mut unseen = unseen_curves(ctx, max);
    if !unseen.is_empty() {
        let k = ctx.seed as usize % unseen.len();
        unseen.rotate_left(k);
    }
    Send::Hello(
        ctx.hellos
            .legacy_curves_first(ctx.seed, max, suites, &unseen)
            .encode(),
    )
}

/// The ECDHE curves no answer at `version` has shown yet.
fn unseen_curves(ctx: &Ctx<'_>, version: TlsVersion) -> Vec<NamedGroup> {
    let seen: Vec<u16> = ctx
        .facts
        .get(version)
        .and_then(|v| v.groups.clone())
        .unwrap_or_default();
    ecdhe_curves()
        .into_iter()
        .filter(|g| !seen.contains(&g.0))
        .collect()
}

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
                let mut task = SuitesTask::new(version, remaining);
                if ctx.facts.highest_legacy() == Some(version) {
                    task.anchor = Some(first);
                }
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

/// Full mode: every suite of one version, accepted + 1 probes (a few more
/// when an ambiguous refusal makes it ask per key-exchange family).
///
/// As soon as two suites are known the server-order probe goes out; when
/// it says the server follows the client's order, the suites of the best
/// legacy version not asked yet are split into lanes ([`ScanConfig::lanes`]),
/// each a task of its own: accepted + lanes probes, in parallel. (Lanes
/// that also offered the other lanes' suites, so that one refusal would
/// settle all, were tried: on Postfix the lanes then picked the same
/// suite as often as they saved a refusal.)
///
/// [`ScanConfig::lanes`]: super::ScanConfig::lanes
pub(crate) struct SuitesTask {
    version: TlsVersion,
    remaining: Vec<u16>,
    pending: Option<Pending>,
    offered: Vec<u16>,
    resumed: u8,
    done: bool,
    /// A lane split off another task (never split again).
    lane: bool,
    /// The suite the descent found, to go last in the first hello: a
    /// server with an order of its own picks it again (it was its first
    /// choice of all), one that follows the client's picks a new suite
    /// before it. Either way the order is known without a probe of its own.
    anchor: Option<u16>,
    /// The hello out carries the anchor.
    anchored: bool,
    /// The anchor was picked again: the server's order, once a second
    /// suite shows that there is an order to speak of.
    own_order_seen: bool,
}

impl SuitesTask {
    pub(crate) fn new(version: TlsVersion, remaining: Vec<u16>) -> Self {
        SuitesTask {
            version,
            remaining,
            pending: None,
            offered: Vec::new(),
            resumed: 0,
            done: false,
            lane: false,
            anchor: None,
            anchored: false,
            own_order_seen: false,
        }
    }

    fn lane(version: TlsVersion, suites: Vec<u16>) -> Self {
        SuitesTask {
            lane: true,
            ..SuitesTask::new(version, suites)
        }
    }

    /// Opens the task in the version's lane count (call when spawning it).
    fn opened(self, ctx: &mut Ctx<'_>) -> Task {
        if let Some(v) = ctx.facts.v(self.version) {
            v.open_lanes += 1;
        }
        Task::Suites(self)
    }

    pub(crate) fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.done {
            return Next::Done;
        }
        let chunk = ctx.config.bundle_size;
        let remaining = std::mem::take(&mut self.remaining);
        let pending = self
            .pending
            .get_or_insert_with(|| Pending::new(remaining, chunk));
        let client_order = ctx
            .facts
            .get(self.version)
            .is_some_and(|v| v.order == Some(CipherOrder::Client));
        if ctx.config.lanes
            && !self.lane
            && client_order
            && ctx.facts.highest_legacy() == Some(self.version)
        {
            self.lane = true;
            for suites in pending.split_lanes() {
                let task = SuitesTask::lane(self.version, suites).opened(ctx);
                ctx.spawn.push(task);
            }
        }
        let Some(offer) = pending.current() else {
            self.complete(ctx);
            return Next::Done;
        };
        self.offered = offer.to_vec();
        self.anchored = false;
        let mut purpose = format!(
            "{} suites: {} not chosen yet",
            self.version,
            self.offered.len()
        );
        if let Some(anchor) = self.anchor.take() {
            self.offered.push(anchor);
            self.anchored = true;
            purpose.push_str(", then the first one found (server order)");
        }
        Next::Probe {
            purpose,
            send: suites_hello(ctx, self.version, &self.offered),
        }
    }

    pub(crate) fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        let Some(pending) = self.pending.as_mut() else {
            return;
        };
        if !matches!(reply(answer), Reply::Unknown(_)) {
            self.resumed = 0;
        }
        match reply(answer) {
            Reply::Chose { hello, flight } => {
                let c = hello.cipher_suite;
                if hello.version != self.version || !self.offered.contains(&c) {
                    let detail = format!(
                        "answered {} with suite 0x{c:04x} to an offer of other {} suites",
                        hello.version, self.version
                    );
                    ctx.facts
                        .unknown(self.version, SupportStatus::Error, detail);
                    self.fail(ctx);
                    return;
                }
                if std::mem::take(&mut self.anchored) {
                    let anchor = self.offered.last().copied();
                    let order = if anchor == Some(c) {
                        self.own_order_seen = true;
                        None
                    } else {
                        Some(CipherOrder::Client)
                    };
                    if let Some(v) = ctx.facts.v(self.version) {
                        v.order_asked = true;
                        v.order = order;
                    }
                    if anchor == Some(c) {
                        // Known already: nothing else to note.
                        return;
                    }
                }
                ctx.facts.add_suite(self.version, c);
                ctx.facts
                    .observe_legacy(hello, flight, self.version > TlsVersion::SSL3);
                pending.chose(c);
                if self.own_order_seen
                    && let Some(v) = ctx.facts.v(self.version)
                {
                    v.order = Some(CipherOrder::Server);
                }
                ask_curves(self.version, ctx);
                if ctx.facts.suites(self.version).len() == 2 {
                    // Whether the server has an order of its own decides
                    // whether the rest may be asked in parallel lanes.
                    ask_order(self.version, ctx);
                }
            }
            Reply::Refused(r) => {
                pending.refused(r.is_ambiguous());
            }
            Reply::Unknown(f) => {
                if status_of(&f) == SupportStatus::Throttled && self.resumed < MAX_RESUMES {
                    // Resume where the enumeration stood.
                    self.resumed += 1;
                    return;
                }
                ctx.facts
                    .unknown(self.version, status_of(&f), f.to_string());
                self.fail(ctx);
            }
        }
    }

    /// Ends this task without asking all it had to.
    fn fail(&mut self, ctx: &mut Ctx<'_>) {
        self.done = true;
        if let Some(v) = ctx.facts.v(self.version) {
            v.open_lanes = v.open_lanes.saturating_sub(1);
            v.suites_over |= v.open_lanes == 0;
        }
    }

    fn complete(&mut self, ctx: &mut Ctx<'_>) {
        self.done = true;
        let Some(v) = ctx.facts.v(self.version) else {
            return;
        };
        v.open_lanes = v.open_lanes.saturating_sub(1);
        if v.open_lanes > 0 {
            // Other lanes of this version are still asking.
            return;
        }
        v.suites_over = true;
        v.suites_complete = true;
        let found = ctx.facts.suites(self.version);
        if found.len() >= 2 {
            ask_order(self.version, ctx);
        }
        ask_curves(self.version, ctx);
    }
}

/// Spawns the ECDHE curves task of `version`, once, as soon as the server
/// chose an ECDHE suite there and `version` is the best legacy one. The
/// curves probes offer every ECDHE candidate suite (the server may pick
/// any: only its curve matters); they wait for the suite probes, which
/// show most curves of a server that follows the client's order.
fn ask_curves(version: TlsVersion, ctx: &mut Ctx<'_>) {
    let ecdhe_seen = ctx
        .facts
        .suites(version)
        .iter()
        .any(|&c| suite(c).is_some_and(|s| is_ecdhe(s.kx)));
    if !ecdhe_seen || ctx.facts.highest_legacy() != Some(version) {
        return;
    }
    if let Some(v) = ctx.facts.v(version)
        && !v.curves_asked
    {
        v.curves_asked = true;
        let suites = legacy_candidates()
            .into_iter()
            .filter(|&c| suite(c).is_some_and(|s| is_ecdhe(s.kx)))
            .collect();
        ctx.spawn
            .push(Task::Curves(CurvesTask::new(version, suites)));
    }
}

/// Spawns the server-order probe of `version`, once.
pub(crate) fn ask_order(version: TlsVersion, ctx: &mut Ctx<'_>) {
    if let Some(v) = ctx.facts.v(version)
        && !v.order_asked
    {
        v.order_asked = true;
        ctx.spawn.push(Task::Order(extras::OrderTask::new(version)));
    }
}

/// Quick mode: which weak classes one version accepts. Each answer
/// settles every class of the suite chosen. The task of the best version
/// asks about every class; the one of an older version (TLS 1.0 or below)
/// waits for it and asks only about the classes not found yet.
pub(crate) struct ClassesTask {
    version: TlsVersion,
    primary: bool,
    started: bool,
    remaining: Vec<WeakClass>,
    refused: Vec<u16>,
    offered: Vec<u16>,
    done: bool,
}

impl ClassesTask {
    /// `first` is the suite the descent saw: its classes are settled.
    pub(crate) fn new(version: TlsVersion, first: u16, primary: bool) -> Self {
        let settled = WeakClass::of(first);
        ClassesTask {
            version,
            primary,
            started: false,
            remaining: WeakClass::ALL
                .into_iter()
                .filter(|c| !settled.contains(c))
                .collect(),
            refused: Vec::new(),
            offered: Vec::new(),
            done: false,
        }
    }

    pub(crate) fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if !self.started {
            if !self.primary && !ctx.facts.classes_done {
                return Next::Wait;
            }
            self.started = true;
            let found = &ctx.facts.weak_found;
            self.remaining.retain(|c| !found.contains(c));
        }
        let candidates: Vec<u16> = class_suites(&self.remaining)
            .into_iter()
            .filter(|c| !self.refused.contains(c))
            .collect();
        if self.done || candidates.is_empty() {
            ctx.facts.classes_done |= self.primary;
            return Next::Done;
        }
        self.offered = candidates;
        let names: Vec<String> = self.remaining.iter().map(|c| format!("{c:?}")).collect();
        Next::Probe {
            purpose: format!("{} weak classes: {}", self.version, names.join(", ")),
            send: hello(ctx, self.version, &self.offered),
        }
    }

    pub(crate) fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        match reply(answer) {
            Reply::Chose { hello, flight } => {
                let c = hello.cipher_suite;
                let classes = WeakClass::of(c);
                let settles = self.remaining.iter().any(|k| classes.contains(k));
                if hello.version != self.version || !self.offered.contains(&c) || !settles {
                    self.done = true;
                    return;
                }
                ctx.facts.add_suite(self.version, c);
                ctx.facts
                    .observe_legacy(hello, flight, self.version > TlsVersion::SSL3);
                self.remaining.retain(|k| !classes.contains(k));
                for k in classes {
                    if !ctx.facts.weak_found.contains(&k) {
                        ctx.facts.weak_found.push(k);
                    }
                }
            }
            Reply::Refused(_) => {
                self.refused.extend(self.offered.iter().copied());
            }
            Reply::Unknown(f) => {
                ctx.facts
                    .unknown(self.version, status_of(&f), f.to_string());
                self.done = true;
            }
        }
    }
}

/// Quick mode: one probe offering only DHE suites, for the DH prime size,
/// unless a DHE suite was seen already.
#[derive(Default)]
pub(crate) struct DheTask {
    asked: bool,
}

impl DheTask {
    pub(crate) fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.asked {
            return Next::Done;
        }
        if !ctx.facts.legacy_known {
            return Next::Wait;
        }
        let seen = ctx
            .facts
            .versions
            .iter()
            .flat_map(|v| &v.suites)
            .any(|s| s.dh_bits.is_some());
        let Some(version) = ctx.facts.highest_legacy() else {
            return Next::Done;
        };
        if seen {
            return Next::Done;
        }
        self.asked = true;
        Next::Probe {
            purpose: format!("{version} DHE suites: the DH group size"),
            send: hello(ctx, version, &dhe_suites()),
        }
    }

    pub(crate) fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        if let Reply::Chose { hello, flight } = reply(answer)
            && ctx.facts.accepted(hello.version)
            && dhe_suites().contains(&hello.cipher_suite)
        {
            ctx.facts.add_suite(hello.version, hello.cipher_suite);
            ctx.facts
                .observe_legacy(hello, flight, hello.version > TlsVersion::SSL3);
        }
    }
}

/// Full mode: the ECDHE curves of one version, by offering its ECDHE
/// suites with the curves not chosen yet.
pub(crate) struct CurvesTask {
    version: TlsVersion,
    suites: Vec<u16>,
    remaining: Vec<NamedGroup>,
    /// The suites of the version were over and the first probe went out.
    started: bool,
    done: bool,
}

impl CurvesTask {
    pub(crate) fn new(version: TlsVersion, suites: Vec<u16>) -> Self {
        CurvesTask {
            version,
            suites,
            remaining: ecdhe_curves(),
            started: false,
            done: false,
        }
    }

    pub(crate) fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if !self.started {
            // The suite probes ask about curves as they go: what they
            // leave unseen is asked here, once they are over.
            let suites_over = ctx.facts.get(self.version).is_none_or(|v| v.suites_over);
            if !suites_over {
                return Next::Wait;
            }
            self.started = true;
            self.remaining = unseen_curves(ctx, self.version);
        }
        if let Some(v) = ctx.facts.v(self.version)
            && v.groups.is_none()
        {
            v.groups = Some(Vec::new());
        }
        if self.done || self.remaining.is_empty() {
            if !self.done
                && let Some(v) = ctx.facts.v(self.version)
            {
                v.groups_complete = true;
            }
            return Next::Done;
        }
        let spec = ctx
            .hellos
            .legacy_curves(ctx.seed, self.version, &self.suites, &self.remaining);
        Next::Probe {
            purpose: format!(
                "{} ECDHE curves: {} not chosen yet",
                self.version,
                self.remaining.len()
            ),
            send: Send::Hello(spec.encode()),
        }
    }

    pub(crate) fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        match reply(answer) {
            Reply::Chose { hello, flight } => {
                let group = flight
                    .server_key_exchange
                    .as_ref()
                    .and_then(|ske| ske.ecdhe_group());
                let ok = hello.version == self.version && self.suites.contains(&hello.cipher_suite);
                match group.filter(|g| ok && self.remaining.contains(g)) {
                    Some(g) => {
                        ctx.facts.add_group(self.version, g.0);
                        self.remaining.retain(|&x| x != g);
                    }
                    None => self.done = true,
                }
            }
            Reply::Refused(_) => {
                if let Some(v) = ctx.facts.v(self.version) {
                    v.groups_complete = true;
                }
                self.done = true;
            }
            Reply::Unknown(_) => self.done = true,
        }
    }
}
