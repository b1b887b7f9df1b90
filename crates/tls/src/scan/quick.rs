//! Quick mode's legacy tasks: weak-class enumeration per version and the
//! DHE probe for the DH prime size.

use mailwarden_model::TlsVersion;

use super::answer::{Answer, Reply, reply, status_of};
use super::hellos::{WeakClass, class_suites, dhe_suites};
use super::legacy::hello;
use super::{Ctx, Next};
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
