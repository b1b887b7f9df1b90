//! Full-mode tasks for SSL 3.0 to TLS 1.2: per-version suite enumeration
//! (with the server order and lanes) and the ECDHE curves of the best
//! legacy version. The descent is in `descent`, quick mode in `quick`.

use mailwarden_model::{CipherOrder, SupportStatus, TlsVersion};

use super::answer::{Answer, Reply, reply, status_of};
use super::hellos::{ecdhe_curves, is_ecdhe, legacy_candidates};
use super::pending::Pending;
use super::{Ctx, Next, Send, Task, extras};
use crate::registry::suite;
use crate::wire::NamedGroup;

/// How often a task repeats a probe that stayed throttled through the
/// driver's own retries, before it reports what it asked as `throttled`.
pub(crate) const MAX_RESUMES: u8 = 2;

pub(crate) fn hello(ctx: &Ctx<'_>, max: TlsVersion, suites: &[u16]) -> Send {
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

    /// The first suites task of the best legacy version: `first`, which the
    /// descent found, goes last in its first hello (see `anchor`).
    pub(crate) fn anchored(version: TlsVersion, remaining: Vec<u16>, first: u16) -> Self {
        SuitesTask {
            anchor: Some(first),
            ..SuitesTask::new(version, remaining)
        }
    }

    fn lane(version: TlsVersion, suites: Vec<u16>) -> Self {
        SuitesTask {
            lane: true,
            ..SuitesTask::new(version, suites)
        }
    }

    /// Opens the task in the version's lane count (call when spawning it).
    pub(crate) fn opened(self, ctx: &mut Ctx<'_>) -> Task {
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
pub(crate) fn ask_curves(version: TlsVersion, ctx: &mut Ctx<'_>) {
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
