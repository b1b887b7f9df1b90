//! TLS 1.3 tasks: suites and groups together (a HelloRetryRequest names
//! both), and the certificate key types behind the encrypted Certificate.

use mailwarden_model::{CipherOrder, SupportStatus, TlsScanMode, TlsVersion};

use super::answer::{Answer, Reply, reply, status_of};
use super::hellos::{
    ECDSA_ONLY, RSA_ONLY, placeholder_share, tls13_candidates, tls13_groups,
    tls13_signature_algorithms,
};
use super::legacy::MAX_RESUMES;
use super::{Ctx, Next, Send, Task};
use crate::groups::GroupKind;
use crate::wire::{NamedGroup, SignatureScheme};

/// Which dimension the next TLS 1.3 probe explores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Suites and groups not chosen yet: each answer may settle one of each.
    Both,
    /// Suites not chosen yet, with a group known to work.
    Suites,
    /// Groups not chosen yet, with a suite known to work.
    Groups,
    Done,
}

/// Enumerates TLS 1.3 suites and groups with hellos that carry no key
/// share, so that the server answers with a HelloRetryRequest naming its
/// choice of both. Quick mode stops after the first answer.
pub(crate) struct Tls13Task {
    mode: TlsScanMode,
    phase: Phase,
    suites: Vec<u16>,
    groups: Vec<NamedGroup>,
    offered_suites: Vec<u16>,
    offered_groups: Vec<NamedGroup>,
    suites_done: bool,
    groups_done: bool,
    /// Throttled probes repeated in a row.
    resumed: u8,
    /// The groups went to parallel lanes ([`GroupLane`]).
    lanes: bool,
}

impl Tls13Task {
    pub(crate) fn new(mode: TlsScanMode) -> Self {
        Tls13Task {
            mode,
            phase: Phase::Both,
            suites: tls13_candidates(),
            groups: tls13_groups(),
            offered_suites: Vec::new(),
            offered_groups: Vec::new(),
            suites_done: false,
            groups_done: false,
            resumed: 0,
            lanes: false,
        }
    }

    pub(crate) fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let client_order = ctx
            .facts
            .versions
            .iter()
            .any(|v| v.order == Some(CipherOrder::Client));
        if let Some(&suite) = ctx.facts.suites(TlsVersion::TLS13).first()
            && self.mode == TlsScanMode::Full
            && ctx.config.lanes
            && client_order
            && !self.lanes
            && !self.groups_done
            && self.phase != Phase::Done
        {
            self.spawn_lanes(suite, ctx);
            self.phase = self.after(false);
        }
        let found_suite = ctx.facts.suites(TlsVersion::TLS13).first().copied();
        let found_group = ctx
            .facts
            .get(TlsVersion::TLS13)
            .and_then(|v| v.groups.as_ref())
            .and_then(|g| g.first().copied());
        let offer = match self.phase {
            Phase::Both => Some((self.suites.clone(), self.groups.clone())),
            Phase::Suites => found_group.map(|g| (self.suites.clone(), vec![NamedGroup(g)])),
            Phase::Groups => found_suite.map(|s| (vec![s], self.groups.clone())),
            Phase::Done => None,
        };
        let Some((suites, groups)) = offer else {
            self.finish(ctx);
            return Next::Done;
        };
        self.offered_suites = suites;
        self.offered_groups = groups;
        let spec = ctx.hellos.tls13(
            ctx.seed,
            &self.offered_suites,
            &self.offered_groups,
            Vec::new(),
            &tls13_signature_algorithms(),
        );
        Next::Probe {
            purpose: format!(
                "TLSv1.3 {:?}: {} suites, {} groups, no key share",
                self.phase,
                self.offered_suites.len(),
                self.offered_groups.len()
            ),
            send: Send::Hello(spec.encode()),
        }
    }

    pub(crate) fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        let tls13 = TlsVersion::TLS13;
        let nothing_yet = ctx.facts.suites(tls13).is_empty();
        if !matches!(reply(answer), Reply::Unknown(_)) {
            self.resumed = 0;
        }
        match reply(answer) {
            Reply::Chose { hello, .. } => {
                let (s, g) = (hello.cipher_suite, hello.parsed.key_share_group);
                let in_offer = self.offered_suites.contains(&s)
                    && g.is_some_and(|g| self.offered_groups.contains(&g));
                if hello.version != tls13 || !in_offer {
                    let detail = format!(
                        "answered {} with suite 0x{s:04x} to a TLSv1.3-only hello",
                        hello.version
                    );
                    if nothing_yet && hello.version != tls13 {
                        ctx.facts.refuse(tls13, detail);
                    } else {
                        ctx.facts.unknown(tls13, SupportStatus::Error, detail);
                    }
                    self.phase = Phase::Done;
                    return;
                }
                ctx.facts.accept(tls13);
                if self.suites.contains(&s) {
                    ctx.facts.add_suite(tls13, s);
                    self.suites.retain(|&x| x != s);
                }
                if let Some(g) = g.filter(|g| self.groups.contains(g)) {
                    ctx.facts.add_group(tls13, g.0);
                    self.groups.retain(|&x| x != g);
                }
                self.suites_done |= self.suites.is_empty();
                self.groups_done |= self.groups.is_empty();
                if self.mode == TlsScanMode::Quick {
                    self.phase = Phase::Done;
                }
                if ctx.facts.suites(tls13).len() == 2 {
                    super::legacy::ask_order(tls13, ctx);
                }
            }
            Reply::Refused(r) => match self.phase {
                Phase::Both if nothing_yet => {
                    ctx.facts.refuse(tls13, r.detail);
                    self.phase = Phase::Done;
                    return;
                }
                // Either dimension may be exhausted: ask about each alone.
                Phase::Both => {}
                Phase::Suites => self.suites_done = true,
                Phase::Groups | Phase::Done => self.groups_done = true,
            },
            Reply::Unknown(f) => {
                if status_of(&f) == SupportStatus::Throttled && self.resumed < MAX_RESUMES {
                    // Again, where the enumeration stood.
                    self.resumed += 1;
                    return;
                }
                ctx.facts.unknown(tls13, status_of(&f), f.to_string());
                self.phase = Phase::Done;
                return;
            }
        }
        if self.phase != Phase::Done {
            self.phase = self.after(matches!(reply(answer), Reply::Refused(_)));
        }
    }

    /// The phase after an answer (`refused`: the last probe was refused).
    fn after(&self, refused: bool) -> Phase {
        match (self.suites_done, self.groups_done) {
            (true, true) => Phase::Done,
            (true, false) => Phase::Groups,
            (false, true) => Phase::Suites,
            (false, false) if refused || self.phase == Phase::Suites => Phase::Suites,
            (false, false) => Phase::Both,
        }
    }

    /// Once a suite is known and the server is seen to follow the client's
    /// order (so that the groups have no order of the server's to keep):
    /// the groups not chosen yet go to one lane per kind (elliptic curves,
    /// finite-field groups, post-quantum and the rest), asked with `suite`
    /// in parallel, while this task goes on with the suites alone. The
    /// certificate key types need only one suite and group: they are
    /// asked now too.
    fn spawn_lanes(&mut self, suite: u16, ctx: &mut Ctx<'_>) {
        self.lanes = true;
        let groups = std::mem::take(&mut self.groups);
        self.groups_done = true;
        let kind = |g: &NamedGroup| match crate::groups::group(g.0).map(|i| i.kind) {
            Some(GroupKind::Ecdhe) => 0,
            Some(GroupKind::Ffdhe) => 1,
            _ => 2,
        };
        let mut lanes: Vec<Vec<NamedGroup>> = vec![Vec::new(); 3];
        for g in groups {
            if let Some(lane) = lanes.get_mut(kind(&g)) {
                lane.push(g);
            }
        }
        lanes.retain(|l| !l.is_empty());
        if let Some(v) = ctx.facts.v(TlsVersion::TLS13) {
            // This task and its lanes.
            v.open_lanes += 1 + lanes.len();
        }
        for groups in lanes {
            ctx.spawn
                .push(Task::Groups13(GroupLane::new(suite, groups)));
        }
        ask_key_types(ctx);
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>) {
        if ctx.facts.tls13_done {
            return;
        }
        let full = self.mode == TlsScanMode::Full;
        if let Some(v) = ctx.facts.v(TlsVersion::TLS13) {
            v.suites_complete = full && self.suites_done;
            if !self.lanes {
                v.groups_complete = full && self.groups_done;
            }
        }
        if self.lanes {
            lane_over(ctx, true);
        } else {
            finish_tls13(ctx, full);
        }
    }
}

/// One lane of TLS 1.3 groups, asked with one suite known to work: each
/// HelloRetryRequest names one more group, until refused.
pub(crate) struct GroupLane {
    suite: u16,
    groups: Vec<NamedGroup>,
    resumed: u8,
    done: bool,
}

impl GroupLane {
    fn new(suite: u16, groups: Vec<NamedGroup>) -> Self {
        GroupLane {
            suite,
            groups,
            resumed: 0,
            done: false,
        }
    }

    pub(crate) fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.done {
            return Next::Done;
        }
        if self.groups.is_empty() {
            self.done = true;
            lane_over(ctx, true);
            return Next::Done;
        }
        let spec = ctx.hellos.tls13(
            ctx.seed,
            &[self.suite],
            &self.groups,
            Vec::new(),
            &tls13_signature_algorithms(),
        );
        Next::Probe {
            purpose: format!(
                "TLSv1.3 groups: {} not chosen yet, no key share",
                self.groups.len()
            ),
            send: Send::Hello(spec.encode()),
        }
    }

    pub(crate) fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        let tls13 = TlsVersion::TLS13;
        if !matches!(reply(answer), Reply::Unknown(_)) {
            self.resumed = 0;
        }
        match reply(answer) {
            Reply::Chose { hello, .. } => {
                let g = hello.parsed.key_share_group;
                match g.filter(|g| hello.version == tls13 && self.groups.contains(g)) {
                    Some(g) => {
                        ctx.facts.add_group(tls13, g.0);
                        self.groups.retain(|&x| x != g);
                    }
                    None => {
                        let detail = format!(
                            "answered {} with group {g:?} to an offer of other TLSv1.3 groups",
                            hello.version
                        );
                        ctx.facts.unknown(tls13, SupportStatus::Error, detail);
                        self.done = true;
                        lane_over(ctx, false);
                    }
                }
            }
            Reply::Refused(_) => {
                self.done = true;
                lane_over(ctx, true);
            }
            Reply::Unknown(f) => {
                if status_of(&f) == SupportStatus::Throttled && self.resumed < MAX_RESUMES {
                    self.resumed += 1;
                    return;
                }
                ctx.facts.unknown(tls13, status_of(&f), f.to_string());
                self.done = true;
                lane_over(ctx, false);
            }
        }
    }
}

/// One TLS 1.3 lane (or the suites task that spawned them) is over;
/// `complete`: it asked everything it had to. The last one finishes.
fn lane_over(ctx: &mut Ctx<'_>, complete: bool) {
    let Some(v) = ctx.facts.v(TlsVersion::TLS13) else {
        return;
    };
    v.lanes_failed |= !complete;
    v.open_lanes = v.open_lanes.saturating_sub(1);
    if v.open_lanes == 0 {
        v.groups_complete = !v.lanes_failed;
        finish_tls13(ctx, true);
    }
}

/// The TLS 1.3 enumeration is over: what needs its results goes out.
fn finish_tls13(ctx: &mut Ctx<'_>, full: bool) {
    if ctx.facts.tls13_done {
        return;
    }
    ctx.facts.tls13_done = true;
    if !full || !ctx.facts.accepted(TlsVersion::TLS13) {
        return;
    }
    if ctx.facts.suites(TlsVersion::TLS13).len() >= 2 {
        super::legacy::ask_order(TlsVersion::TLS13, ctx);
    }
    ask_key_types(ctx);
}

/// Spawns the TLS 1.3 certificate key type probes, once.
fn ask_key_types(ctx: &mut Ctx<'_>) {
    if ctx.facts.tls13_keys_asked {
        return;
    }
    ctx.facts.tls13_keys_asked = true;
    ctx.spawn
        .push(Task::KeyType13(KeyTypeTask::new("ecdsa", ECDSA_ONLY)));
    ctx.spawn
        .push(Task::KeyType13(KeyTypeTask::new("rsa", RSA_ONLY)));
}

/// Whether a TLS 1.3 server has a certificate of one key type: a hello
/// whose signature_algorithms only that key type can serve, with a real
/// key share so that the answer is a ServerHello (sent only once the
/// server has picked a certificate and signature algorithm).
pub(crate) struct KeyTypeTask {
    key_type: &'static str,
    algorithms: &'static [SignatureScheme],
    asked: bool,
}

impl KeyTypeTask {
    pub(crate) fn new(key_type: &'static str, algorithms: &'static [SignatureScheme]) -> Self {
        KeyTypeTask {
            key_type,
            algorithms,
            asked: false,
        }
    }

    pub(crate) fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.asked {
            return Next::Done;
        }
        let facts = ctx.facts.get(TlsVersion::TLS13);
        let groups: Vec<u16> = facts.and_then(|v| v.groups.clone()).unwrap_or_default();
        let share = groups
            .iter()
            .find_map(|&g| placeholder_share(NamedGroup(g)));
        let suites = ctx.facts.suites(TlsVersion::TLS13);
        let Some(share) = share.filter(|_| !suites.is_empty()) else {
            return Next::Done;
        };
        self.asked = true;
        let group = share.group;
        let spec = ctx
            .hellos
            .tls13(ctx.seed, &suites, &[group], vec![share], self.algorithms);
        Next::Probe {
            purpose: format!("TLSv1.3 {} certificate ({group} key share)", self.key_type),
            send: Send::Hello(spec.encode()),
        }
    }

    pub(crate) fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        if let Reply::Chose { hello, .. } = reply(answer)
            && hello.version == TlsVersion::TLS13
            && !hello.is_hello_retry_request()
        {
            ctx.facts.key_seen(self.key_type, TlsVersion::TLS13, None);
        }
    }
}
