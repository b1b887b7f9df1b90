//! The input side of the pipeline: reading chunks of whole lines straight
//! into reusable buffers, and splitting a chunk into its lines.

use std::io::{self, BufRead};

use crate::input::MAX_LINE;

/// The input, read a chunk at a time by whichever thread holds the lock.
pub(super) struct Source<'r> {
    reader: &'r mut (dyn BufRead + Send),
    /// The start of a line whose end is in the next chunk.
    carry: Vec<u8>,
    /// Inside a line longer than [`MAX_LINE`]: the rest is dropped up to its newline.
    skipping: bool,
    pub(super) next_seq: u64,
    eof: bool,
    read_any: bool,
    pub(super) truncated: bool,
    pub(super) error: Option<io::Error>,
}

impl<'r> Source<'r> {
    pub(super) fn new(reader: &'r mut (dyn BufRead + Send)) -> Self {
        Source {
            reader,
            carry: Vec::new(),
            skipping: false,
            next_seq: 0,
            eof: false,
            read_any: false,
            truncated: false,
            error: None,
        }
    }

    /// Fills `buf` with the next whole lines (about `chunk_bytes`; the last
    /// chunk may end without a newline). False at the end of the input.
    pub(super) fn next_chunk(&mut self, buf: &mut Buffer, chunk_bytes: usize) -> bool {
        buf.len = 0;
        buf.extend(&self.carry);
        self.carry.clear();
        // The carry is part of one line: no newline in it.
        let mut newline: Option<usize> = None;
        // The last read returned less than asked: nothing more at hand (a
        // pipe fed line by line, `--follow -`), so whole lines go now.
        let mut short = false;
        while !self.eof {
            if newline.is_some() && (buf.len >= chunk_bytes || short) {
                break;
            }
            if newline.is_none() && buf.len > MAX_LINE {
                break;
            }
            if self.skipping {
                self.skip_rest_of_line();
                continue;
            }
            // Straight into the chunk: a read at least as large as the
            // reader's own buffer bypasses it (no second copy of the input).
            let room = chunk_bytes
                .saturating_sub(buf.len)
                .max(chunk_bytes.min(READ_SIZE))
                .max(1);
            let start = buf.len;
            let Some(space) = buf.space(room) else {
                self.eof = true;
                break;
            };
            match self.reader.read(space) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    short = n < room;
                    buf.len += n;
                    self.read_any = true;
                    if let Some(i) = buf
                        .as_slice()
                        .get(start..)
                        .and_then(|b| memchr::memrchr(b'\n', b))
                    {
                        newline = Some(start + i);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Before the first byte an error is the caller's; after it
                    // (a truncated gzip stream) the input just ends.
                    if self.read_any || e.kind() == io::ErrorKind::UnexpectedEof {
                        self.truncated = true;
                    } else {
                        self.error = Some(e);
                    }
                    self.eof = true;
                }
            }
        }
        if self.eof {
            return buf.len > 0;
        }
        match newline {
            Some(i) => {
                self.carry
                    .extend_from_slice(buf.as_slice().get(i + 1..).unwrap_or_default());
                buf.len = i + 1;
            }
            None => {
                // One line longer than any kept: one byte over the cap marks it
                // cut (the parsing thread counts it); the rest is skipped.
                buf.len = MAX_LINE + 1;
                buf.extend(b"\n");
                self.skipping = true;
            }
        }
        true
    }
}

/// The size of the reads into a chunk: as large as the readers' buffers
/// (`input::open`, standard input), so that reads bypass them.
const READ_SIZE: usize = 256 * 1024;

/// A chunk's bytes: storage that stays initialized from one chunk to the
/// next (reads go straight into it, with nothing to zero), and how much of
/// it is this chunk's.
#[derive(Default)]
pub(super) struct Buffer {
    bytes: Vec<u8>,
    pub(super) len: usize,
}

impl Buffer {
    pub(super) fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    fn extend(&mut self, more: &[u8]) {
        if let Some(space) = self.space(more.len()) {
            space.copy_from_slice(more);
            self.len += more.len();
        }
    }

    /// `n` writable bytes after the chunk's, growing the storage if needed.
    fn space(&mut self, n: usize) -> Option<&mut [u8]> {
        let end = self.len.checked_add(n)?;
        if self.bytes.len() < end {
            self.bytes.resize(end, 0);
        }
        self.bytes.get_mut(self.len..end)
    }
}

impl Source<'_> {
    /// Drops what is left of an over-long line, up to and with its newline.
    fn skip_rest_of_line(&mut self) {
        let data = match self.reader.fill_buf() {
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return,
            Err(_) => {
                self.truncated = true;
                self.eof = true;
                return;
            }
        };
        if data.is_empty() {
            self.eof = true;
            return;
        }
        let used = match memchr::memchr(b'\n', data) {
            Some(i) => {
                self.skipping = false;
                i + 1
            }
            None => data.len(),
        };
        self.reader.consume(used);
    }
}

/// The lines of a chunk: split at newlines, a last one without newline
/// kept, each cut at [`MAX_LINE`] (with whether it was).
pub(super) fn lines(data: &[u8]) -> Lines<'_> {
    Lines {
        data,
        at: 0,
        newlines: memchr::memchr_iter(b'\n', data),
    }
}

pub(super) struct Lines<'a> {
    data: &'a [u8],
    at: usize,
    /// One searcher over the whole chunk: cheaper than a search per line.
    newlines: memchr::Memchr<'a>,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (&'a [u8], bool);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.data.get(self.at..).filter(|r| !r.is_empty())?;
        let line = match self.newlines.next() {
            Some(i) => {
                let line = self.data.get(self.at..i).unwrap_or_default();
                self.at = i + 1;
                line
            }
            None => {
                self.at = self.data.len();
                rest
            }
        };
        Some(match line.get(..MAX_LINE) {
            Some(kept) if line.len() > MAX_LINE => (kept, true),
            _ => (line, false),
        })
    }
}
