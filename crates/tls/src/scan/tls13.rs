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
use crate::wire::{NamedGroup, SignatureScheme};

/// Which dimension the next TLS 1.3 probe explores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Suites and groups not chosen yet: each answer may settle one of each.
    Both,
    /// Suites not chosen yet, with a group known to work.
    Suites,
    /// Groups not chosen yet, with a suite known to work (after the
    /// suites not chosen yet while those may remain).
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
        }
    }

    pub(crate) fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let found_suite = ctx.facts.suites(TlsVersion::TLS13).first().copied();
        let found_group = ctx
            .facts
            .get(TlsVersion::TLS13)
            .and_then(|v| v.groups.as_ref())
            .and_then(|g| g.first().copied());
        let offer = match self.phase {
            Phase::Both => Some((self.suites.clone(), self.groups.clone())),
            Phase::Suites => found_group.map(|g| (self.suites.clone(), vec![NamedGroup(g)])),
            Phase::Groups => found_suite.map(|s| {
                // Right after a refusal of both lists, the suites not
                // chosen yet go first: a new group chosen with the suite
                // known to work then says the suites were what ran out.
                let mut suites = if self.suites_done {
                    Vec::new()
                } else {
                    self.suites.clone()
                };
                suites.push(s);
                (suites, self.groups.clone())
            }),
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
                if self.phase == Phase::Groups
                    && !self.suites_done
                    && !self.suites.contains(&s)
                    && g.is_some_and(|g| self.groups.contains(&g))
                {
                    // Both lists were refused together, yet a group of
                    // that list works: the suites had run out.
                    self.suites_done = true;
                }
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
            (false, false) if self.phase == Phase::Suites => Phase::Suites,
            (false, false) if refused => Phase::Groups,
            (false, false) => Phase::Both,
        }
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>) {
        if ctx.facts.tls13_done {
            return;
        }
        let full = self.mode == TlsScanMode::Full;
        if let Some(v) = ctx.facts.v(TlsVersion::TLS13) {
            v.suites_complete = full && self.suites_done;
            v.groups_complete = full && self.groups_done;
        }
        finish_tls13(ctx, full);
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
    ask_key_types(ctx);
}

/// Spawns the TLS 1.3 certificate key type probes, once. With two suites
/// or more, the probe of the key type the legacy versions showed (ECDSA
/// when none) also asks the server order: its hello offers the suites in
/// reverse.
fn ask_key_types(ctx: &mut Ctx<'_>) {
    if ctx.facts.tls13_keys_asked {
        return;
    }
    ctx.facts.tls13_keys_asked = true;
    let order = ctx.facts.suites(TlsVersion::TLS13).len() >= 2
        && ctx
            .facts
            .v(TlsVersion::TLS13)
            .is_some_and(|v| !std::mem::replace(&mut v.order_asked, true));
    let rsa_first = !ctx.facts.keys.iter().any(|k| k.key_type == "ecdsa")
        && ctx.facts.keys.iter().any(|k| k.key_type == "rsa");
    ctx.spawn.push(Task::KeyType13(KeyTypeTask {
        order: order && !rsa_first,
        ..KeyTypeTask::new("ecdsa", ECDSA_ONLY)
    }));
    ctx.spawn.push(Task::KeyType13(KeyTypeTask {
        order: order && rsa_first,
        ..KeyTypeTask::new("rsa", RSA_ONLY)
    }));
}

/// Whether a TLS 1.3 server has a certificate of one key type: a hello
/// whose signature_algorithms only that key type can serve, with a real
/// key share so that the answer is a ServerHello (sent only once the
/// server has picked a certificate and signature algorithm).
///
/// It may also ask the server order (`order`): the known suites go in
/// reverse, and the suite of the answer (a ServerHello or a
/// HelloRetryRequest) tells whose order the server follows. When the answer
/// names no suite, a plain order probe follows.
pub(crate) struct KeyTypeTask {
    key_type: &'static str,
    algorithms: &'static [SignatureScheme],
    order: bool,
    offered: Vec<u16>,
    asked: bool,
}

impl KeyTypeTask {
    pub(crate) fn new(key_type: &'static str, algorithms: &'static [SignatureScheme]) -> Self {
        KeyTypeTask {
            key_type,
            algorithms,
            order: false,
            offered: Vec::new(),
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
        let mut suites = ctx.facts.suites(TlsVersion::TLS13);
        let Some(share) = share.filter(|_| !suites.is_empty()) else {
            self.ask_order_alone(ctx);
            return Next::Done;
        };
        self.asked = true;
        if self.order {
            suites.reverse();
        }
        self.offered = suites;
        let group = share.group;
        let spec = ctx.hellos.tls13(
            ctx.seed,
            &self.offered,
            &[group],
            vec![share],
            self.algorithms,
        );
        let order = if self.order {
            ", suites in reverse: server order"
        } else {
            ""
        };
        Next::Probe {
            purpose: format!(
                "TLSv1.3 {} certificate ({group} key share){order}",
                self.key_type
            ),
            send: Send::Hello(spec.encode()),
        }
    }

    pub(crate) fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        let tls13 = TlsVersion::TLS13;
        let chosen = match reply(answer) {
            Reply::Chose { hello, .. } if hello.version == tls13 => {
                if !hello.is_hello_retry_request() {
                    ctx.facts.key_seen(self.key_type, tls13, None);
                }
                Some(hello.cipher_suite).filter(|c| self.offered.contains(c))
            }
            _ => None,
        };
        match chosen {
            Some(c) if self.order => {
                let order = if self.offered.first() == Some(&c) {
                    CipherOrder::Client
                } else {
                    CipherOrder::Server
                };
                if let Some(v) = ctx.facts.v(tls13) {
                    v.order = Some(order);
                }
            }
            _ => self.ask_order_alone(ctx),
        }
    }

    /// The order was to be asked here and could not be: a probe of its own.
    fn ask_order_alone(&mut self, ctx: &mut Ctx<'_>) {
        if std::mem::take(&mut self.order) {
            ctx.spawn.push(Task::Order(super::extras::OrderTask::new(
                TlsVersion::TLS13,
            )));
        }
    }
}
