//! Reading one input on several threads, with the result of reading it on one.
//!
//! The input is cut into chunks of whole lines. Parsing threads take the
//! next chunk in turn and do what needs no state: split lines, decode the
//! envelope, and run each parser's stateless half ([`Parsers::read`]). The
//! calling thread takes the chunks back in order and does the rest: the
//! parsers' stateful half ([`Parsers::apply`]: Postfix sessions and queue,
//! OpenSMTPD sessions, Exim's lines repeated across inputs), the detectors,
//! and the sink. The line numbers, the years of syslog dates and Exim's
//! rejectlog continuations depend on the lines before a chunk: a parsing
//! thread leaves them open and the calling thread settles them
//! ([`Decoder::take_over`]), decoding a chunk again itself in the rare case
//! where a year would differ. So the events, alerts and counts are exactly
//! those of reading line by line ([`crate::Analyzer::line`]); the fuzz target
//! `logs_pipeline` and `tests/pipeline.rs` hold it to that.
//!
//! Memory is bounded: a fixed number of chunk buffers circulates, and a
//! thread can only read a chunk when the calling thread has handed one back.

use std::io::{self, BufRead};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use crate::clock::Clock;
use crate::envelope::{Decoder, Record, Skip};
use crate::event::Event;
use crate::parse::{LineCtx, Outcome, Parsers, Read};
use crate::{Analyzer, Sink, Stats};

mod source;

use source::{Buffer, Source, lines};

/// How [`read_input_with`] splits its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Parsing threads (besides the calling thread, which runs the
    /// detectors). Default: the number of CPUs, at most 8.
    pub threads: usize,
    /// Bytes per chunk (whole lines are kept together; a chunk grows past
    /// this to finish its last line). Default: 256 KiB.
    pub chunk_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            threads: std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8)),
            chunk_bytes: 256 * 1024,
        }
    }
}

/// Reads one whole input through the analyzer with the default options.
/// Read errors after the first byte (a truncated gzip) end the input and are
/// counted; an error before it is returned.
pub fn read_input(
    analyzer: &mut Analyzer,
    reader: &mut (dyn BufRead + Send),
    name: &str,
    clock: Clock,
    sink: &mut dyn Sink,
) -> io::Result<()> {
    read_input_with(analyzer, reader, name, clock, sink, ReadOptions::default())
}

/// [`read_input`] with explicit threads and chunk size.
pub fn read_input_with(
    analyzer: &mut Analyzer,
    reader: &mut (dyn BufRead + Send),
    name: &str,
    clock: Clock,
    sink: &mut dyn Sink,
    options: ReadOptions,
) -> io::Result<()> {
    let threads = options.threads.max(1);
    let chunk_bytes = options.chunk_bytes.max(1);
    let source = Mutex::new(Source::new(reader));
    // Two chunks per thread in flight: one being parsed, one waiting to be merged.
    let (pool_tx, pool_rx) = channel::<Box<Chunk>>();
    for _ in 0..threads * 2 + 1 {
        let _ = pool_tx.send(Box::default());
    }
    let pool_rx = Mutex::new(pool_rx);
    let (done_tx, done_rx) = channel::<Message>();
    let template = Decoder::new(clock.clone());
    let mut merger = Merger {
        decoder: Decoder::new(clock),
        ctx: LineCtx {
            file: name.into(),
            line: 0,
        },
        out: Vec::new(),
    };
    let panicked = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let done = done_tx.clone();
                let (source, pool, template) = (&source, &pool_rx, &template);
                scope.spawn(move || {
                    let guard = PanicGuard(done.clone());
                    parse_chunks(source, pool, template, name, chunk_bytes, &done);
                    drop(guard);
                })
            })
            .collect();
        drop(done_tx);
        let mut waiting: Vec<Box<Chunk>> = Vec::new();
        let mut next = 0u64;
        let mut failed = false;
        for message in &done_rx {
            let Message::Parsed(chunk) = message else {
                failed = true;
                break;
            };
            waiting.push(chunk);
            while let Some(i) = waiting.iter().position(|c| c.seq == next) {
                let mut chunk = waiting.swap_remove(i);
                merger.merge(analyzer, &mut chunk, sink);
                chunk.clear();
                let _ = pool_tx.send(chunk);
                next += 1;
            }
        }
        // On a panic, close the pool so that threads waiting for a buffer stop.
        drop(pool_tx);
        drop(done_rx);
        let mut panic = None;
        for handle in handles {
            if let Err(p) = handle.join() {
                panic = Some(p);
            }
        }
        panic.or(failed.then(|| Box::new("a parsing thread failed") as _))
    });
    if let Some(panic) = panicked {
        std::panic::resume_unwind(panic);
    }
    let source = source.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = source.error {
        return Err(e);
    }
    if source.truncated {
        analyzer.note_truncated_input();
    }
    Ok(())
}

enum Message {
    Parsed(Box<Chunk>),
    Panicked,
}

/// Tells the calling thread when a parsing thread dies, so that it stops
/// waiting for that thread's chunk.
struct PanicGuard(Sender<Message>);

impl Drop for PanicGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.send(Message::Panicked);
        }
    }
}

/// A chunk and what a parsing thread made of it. The buffers circulate
/// between the threads (cleared, capacity kept).
#[derive(Default)]
struct Chunk {
    seq: u64,
    data: Buffer,
    /// Copies of record parts that are not in `data` (journald messages).
    arena: Vec<u8>,
    /// Lines in the chunk.
    lines: u64,
    /// Counts of the lines without an entry (final after reading).
    stats: Stats,
    /// Events read, in line order, with line numbers relative to the chunk.
    events: Vec<Event>,
    /// Lines the stateful half must see, in order.
    entries: Vec<Entry>,
    /// The decoder's state at the end of the chunk, for [`Decoder::take_over`].
    decoder: Option<Decoder>,
}

impl Chunk {
    fn clear(&mut self) {
        self.data.len = 0;
        self.arena.clear();
        self.lines = 0;
        self.stats = Stats::default();
        self.events.clear();
        self.entries.clear();
        self.decoder = None;
    }
}

/// A line whose parsing needs the state: where its record is and what
/// [`Parsers::read`] made of it.
struct Entry {
    /// 1-based line number within the chunk.
    line: u32,
    /// Its events in `Chunk::events`: `first..first + count`.
    first: u32,
    count: u32,
    read: Read,
    time: Option<Timestamp>,
    pid: Option<u32>,
    host: Span,
    program: Span,
    message: Span,
}

/// Bytes of a record: in the chunk's data, or (the top bit of `at` set)
/// copied to its arena (a journald message lives in its decoder).
#[derive(Clone, Copy)]
struct Span {
    at: u32,
    len: u32,
}

const IN_ARENA: u32 = 1 << 31;

impl Span {
    fn of(part: &[u8], data: &[u8], arena: &mut Vec<u8>) -> Span {
        let (p, d) = (part.as_ptr() as usize, data.as_ptr() as usize);
        let len = u32::try_from(part.len()).unwrap_or(0);
        if p >= d && p + part.len() <= d + data.len() {
            Span {
                at: u32::try_from(p - d).unwrap_or(0),
                len,
            }
        } else {
            let at = u32::try_from(arena.len()).unwrap_or(0) | IN_ARENA;
            arena.extend_from_slice(part);
            Span { at, len }
        }
    }

    fn get<'a>(self, data: &'a [u8], arena: &'a [u8]) -> &'a [u8] {
        let (bytes, at) = if self.at & IN_ARENA != 0 {
            (arena, self.at & !IN_ARENA)
        } else {
            (data, self.at)
        };
        let (at, len) = (at as usize, self.len as usize);
        bytes.get(at..at + len).unwrap_or_default()
    }
}

/// One parsing thread: takes a free buffer, reads the next chunk into it,
/// parses it, hands it to the calling thread; until the input ends.
fn parse_chunks(
    source: &Mutex<Source<'_>>,
    pool: &Mutex<Receiver<Box<Chunk>>>,
    template: &Decoder,
    name: &str,
    chunk_bytes: usize,
    done: &Sender<Message>,
) {
    loop {
        let free = pool.lock().map(|rx| rx.recv());
        let Ok(Ok(mut chunk)) = free else { return };
        {
            let Ok(mut source) = source.lock() else {
                return;
            };
            if !source.next_chunk(&mut chunk.data, chunk_bytes) {
                return;
            }
            chunk.seq = source.next_seq;
            source.next_seq += 1;
        }
        // Fresh parsers and file name per chunk: the shared strings their
        // events carry (service names, the file) are then this chunk's alone,
        // and the calling thread that drops them never contends with a
        // parsing thread making new ones.
        let mut parsers = Parsers::default();
        let file: Arc<str> = name.into();
        let mut decoder = template.for_piece();
        read_chunk(&mut chunk, &mut parsers, &mut decoder, &file);
        chunk.decoder = Some(decoder);
        if done.send(Message::Parsed(chunk)).is_err() {
            return;
        }
    }
}

/// The stateless work on one chunk.
fn read_chunk(chunk: &mut Chunk, parsers: &mut Parsers, decoder: &mut Decoder, file: &Arc<str>) {
    let Chunk {
        data,
        arena,
        lines: count,
        stats,
        events,
        entries,
        ..
    } = chunk;
    let data = data.as_slice();
    let mut ctx = LineCtx {
        file: file.clone(),
        line: 0,
    };
    for (line, cut) in lines(data) {
        ctx.line += 1;
        stats.lines += 1;
        stats.oversized += u64::from(cut);
        let record = match decoder.decode(line) {
            Ok(record) => record,
            Err(Skip::Unrecognized) => {
                stats.unrecognized += 1;
                continue;
            }
            Err(Skip::Blank | Skip::Continuation) => {
                stats.skipped += 1;
                continue;
            }
        };
        let first = events.len();
        let read = parsers.read(&record, &ctx, events);
        if read.is_final() {
            count_outcome(stats, read.outcome);
            continue;
        }
        entries.push(Entry {
            line: u32::try_from(ctx.line).unwrap_or(u32::MAX),
            first: u32::try_from(first).unwrap_or(u32::MAX),
            count: u32::try_from(events.len() - first).unwrap_or(0),
            read,
            time: record.time,
            pid: record.pid,
            host: Span::of(record.host, data, arena),
            program: Span::of(record.program, data, arena),
            message: Span::of(record.message, data, arena),
        });
    }
    *count = ctx.line;
}

fn count_outcome(stats: &mut Stats, outcome: Outcome) {
    match outcome {
        Outcome::NotMine => stats.other_programs += 1,
        Outcome::Uninteresting => stats.uninteresting += 1,
        Outcome::Events => stats.recognized += 1,
    }
}

/// The calling thread's side: the input's true decoder state and the line
/// number so far.
struct Merger {
    decoder: Decoder,
    ctx: LineCtx,
    out: Vec<Event>,
}

impl Merger {
    /// Takes a parsed chunk (the next in order) through the stateful half,
    /// the detectors and the sink.
    fn merge(&mut self, analyzer: &mut Analyzer, chunk: &mut Chunk, sink: &mut dyn Sink) {
        let base = self.ctx.line;
        let Some(continuations) = chunk
            .decoder
            .as_ref()
            .and_then(|piece| self.decoder.take_over(piece))
        else {
            self.reread(analyzer, chunk, sink);
            return;
        };
        let Chunk {
            data,
            arena,
            lines,
            stats,
            events,
            entries,
            ..
        } = chunk;
        let data = data.as_slice();
        stats.unrecognized = stats.unrecognized.saturating_sub(continuations);
        stats.skipped += continuations;
        analyzer.stats.add(stats);
        for e in events.iter_mut() {
            e.line += base;
        }
        // Events are handed to the detectors where they lie: final ones in
        // runs, a stateful line's after what the state puts before them.
        let mut next = 0;
        for entry in entries.iter() {
            let first = entry.first as usize;
            let end = first + entry.count as usize;
            if first > next {
                analyzer.emit_batch(events.get_mut(next..first).unwrap_or_default(), sink);
            }
            let record = Record {
                time: entry.time,
                host: entry.host.get(data, arena),
                program: entry.program.get(data, arena),
                pid: entry.pid,
                message: entry.message.get(data, arena),
            };
            self.ctx.line = base + u64::from(entry.line);
            let read_events = events.get(first..end).unwrap_or_default();
            let (outcome, keep) =
                analyzer
                    .parsers
                    .apply(entry.read, read_events, &record, &self.ctx, &mut self.out);
            count_outcome(&mut analyzer.stats, outcome);
            if !self.out.is_empty() {
                analyzer.emit_batch(&mut self.out, sink);
                self.out.clear();
            }
            if keep && end > first {
                analyzer.emit_batch(events.get_mut(first..end).unwrap_or_default(), sink);
            }
            next = end;
        }
        if next < events.len() {
            analyzer.emit_batch(events.get_mut(next..).unwrap_or_default(), sink);
        }
        self.ctx.line = base + *lines;
    }

    /// A chunk whose syslog years would differ (a file that spans more than
    /// a year, or dates ahead of the reference): decoded again here, line by
    /// line, after the lines before it.
    fn reread(&mut self, analyzer: &mut Analyzer, chunk: &Chunk, sink: &mut dyn Sink) {
        for (line, cut) in lines(chunk.data.as_slice()) {
            self.ctx.line += 1;
            if cut {
                analyzer.note_oversized_line();
            }
            analyzer.line(&mut self.decoder, &self.ctx, line, sink);
        }
    }
}
