//! Reading inputs: files (gzip recognized by its magic bytes, not its name),
//! standard input, and `--follow` (tail that survives rotation and truncation).
//!
//! Lines are capped at [`MAX_LINE`] bytes (the rest of a longer line is
//! skipped and counted); a last line without a newline is still read; a
//! truncated gzip stream ends its input and is counted, never fatal.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::clock::Clock;
use crate::envelope::Decoder;
use crate::parse::LineCtx;
use crate::{Analyzer, Sink};

/// Longest line kept, in bytes.
pub const MAX_LINE: usize = 64 * 1024;

/// What one read produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadLine {
    /// A line (newline-terminated, or the last bytes of the input); `true` when it was cut.
    Line(bool),
    /// End of input.
    Eof,
}

/// Reads one line into `buf` (cleared first, newline removed), at most [`MAX_LINE`] bytes.
pub fn read_line<R: BufRead + ?Sized>(r: &mut R, buf: &mut Vec<u8>) -> io::Result<ReadLine> {
    buf.clear();
    let mut cut = false;
    let mut any = false;
    loop {
        let available = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if any {
                ReadLine::Line(cut)
            } else {
                ReadLine::Eof
            });
        }
        any = true;
        let (chunk, used, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (available.get(..i).unwrap_or_default(), i + 1, true),
            None => (available, available.len(), false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        if chunk.len() > room {
            cut = true;
        }
        buf.extend_from_slice(chunk.get(..chunk.len().min(room)).unwrap_or_default());
        r.consume(used);
        if done {
            return Ok(ReadLine::Line(cut));
        }
    }
}

/// Opens a file as a line source, decompressing gzip. Returns the reader and
/// the file's modification time (the reference for syslog years).
pub fn open(path: &Path) -> io::Result<(Box<dyn BufRead + Send>, Option<Timestamp>)> {
    let file = File::open(path)?;
    let modified = file
        .metadata()
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| Timestamp::try_from(t).ok());
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    if gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(reader);
        return Ok((
            Box::new(BufReader::with_capacity(256 * 1024, decoder)),
            modified,
        ));
    }
    Ok((Box::new(reader), modified))
}

/// Reads one whole input through the analyzer: see [`crate::pipeline`].
pub use crate::pipeline::read_input;

/// A clock for a file: local time zone, reference from the modification time.
pub fn clock_for(tz: &TimeZone, modified: Option<Timestamp>) -> Clock {
    Clock::new(tz.clone(), modified.unwrap_or_else(Timestamp::now))
}

/// One followed file.
#[derive(Debug)]
struct Followed {
    path: PathBuf,
    name: Arc<str>,
    file: Option<File>,
    inode: u64,
    pos: u64,
    partial: Vec<u8>,
    decoder: Decoder,
    line: u64,
}

/// Follows files like `tail -F`: reads what exists, then new lines as they
/// are written; a file replaced (rotation: new inode) is drained and reopened
/// from its start, a file that shrank (truncation) is read again from its
/// start. Returns when `stop()` says so, checked after every poll and
/// every 50 ms between polls (Ctrl-C answers at once, whatever `poll`).
pub fn follow(
    analyzer: &mut Analyzer,
    paths: &[PathBuf],
    tz: &TimeZone,
    poll: Duration,
    sink: &mut dyn Sink,
    stop: &mut dyn FnMut() -> bool,
) -> io::Result<()> {
    let mut files: Vec<Followed> = paths
        .iter()
        .map(|p| Followed {
            path: p.clone(),
            name: p.display().to_string().into(),
            file: None,
            inode: 0,
            pos: 0,
            partial: Vec::new(),
            decoder: Decoder::new(clock_for(tz, None)),
            line: 0,
        })
        .collect();
    loop {
        for f in &mut files {
            f.poll(analyzer, sink)?;
        }
        let mut waited = Duration::ZERO;
        loop {
            if stop() {
                analyzer.finish(sink);
                return Ok(());
            }
            if waited >= poll {
                break;
            }
            let step = (poll - waited).min(Duration::from_millis(50));
            std::thread::sleep(step);
            waited += step;
        }
    }
}

/// A reader that ends (reads return 0 bytes) once `stop` is set, even while
/// `inner` would block: standard input under `--follow` stops on Ctrl-C
/// like files do. `inner` is read on a thread of its own (left blocked in
/// its read when stopped: the process is about to exit), at most a few
/// blocks ahead.
pub fn until_stopped<R: Read + Send + 'static>(
    mut inner: R,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> impl BufRead + Send {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match inner.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx.send(buf.get(..n).unwrap_or_default().to_vec()).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    });
    BufReader::with_capacity(
        256 * 1024,
        Stoppable {
            rx,
            stop,
            pending: Vec::new(),
            at: 0,
        },
    )
}

struct Stoppable {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    pending: Vec<u8>,
    at: usize,
}

impl Read for Stoppable {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        use std::sync::atomic::Ordering;
        use std::sync::mpsc::RecvTimeoutError;
        while self.at >= self.pending.len() {
            if self.stop.load(Ordering::SeqCst) {
                return Ok(0);
            }
            match self.rx.recv_timeout(Duration::from_millis(50)) {
                Ok(block) => {
                    self.pending = block;
                    self.at = 0;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let rest = self.pending.get(self.at..).unwrap_or_default();
        let n = rest.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.at += n;
        Ok(n)
    }
}

impl Followed {
    fn poll(&mut self, analyzer: &mut Analyzer, sink: &mut dyn Sink) -> io::Result<()> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            // Between rotation and re-creation: keep reading the old file.
            Err(_) => return self.drain(analyzer, sink),
        };
        if self.file.is_none() || meta.ino() != self.inode {
            // Rotated (or first open): finish the old file, then start the new one.
            self.drain(analyzer, sink)?;
            self.flush_partial(analyzer, sink);
            self.file = Some(File::open(&self.path)?);
            self.inode = meta.ino();
            self.pos = 0;
        } else if meta.len() < self.pos {
            // Truncated in place (copytruncate).
            self.partial.clear();
            self.pos = 0;
            if let Some(file) = &mut self.file {
                file.seek(SeekFrom::Start(0))?;
            }
        }
        self.drain(analyzer, sink)
    }

    fn drain(&mut self, analyzer: &mut Analyzer, sink: &mut dyn Sink) -> io::Result<()> {
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            self.pos += n as u64;
            let mut data = chunk.get(..n).unwrap_or_default();
            while let Some(i) = memchr::memchr(b'\n', data) {
                let piece = data.get(..i).unwrap_or_default();
                if self.partial.len() + piece.len() > MAX_LINE {
                    analyzer.note_oversized_line();
                }
                let room = MAX_LINE.saturating_sub(self.partial.len());
                self.partial
                    .extend_from_slice(piece.get(..piece.len().min(room)).unwrap_or_default());
                self.line += 1;
                let ctx = LineCtx {
                    file: self.name.clone(),
                    line: self.line,
                };
                analyzer.line(&mut self.decoder, &ctx, &self.partial, sink);
                self.partial.clear();
                data = data.get(i + 1..).unwrap_or_default();
            }
            let room = MAX_LINE.saturating_sub(self.partial.len());
            self.partial
                .extend_from_slice(data.get(..data.len().min(room)).unwrap_or_default());
        }
    }

    fn flush_partial(&mut self, analyzer: &mut Analyzer, sink: &mut dyn Sink) {
        if self.partial.is_empty() {
            return;
        }
        self.line += 1;
        let ctx = LineCtx {
            file: self.name.clone(),
            line: self.line,
        };
        let partial = std::mem::take(&mut self.partial);
        analyzer.line(&mut self.decoder, &ctx, &partial, sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that gives one line, then blocks for good (a pipe whose
    /// writer is alive and silent).
    struct OneLineThenSilence(bool);

    impl Read for OneLineThenSilence {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.0 {
                self.0 = true;
                let line = b"a line\n";
                buf[..line.len()].copy_from_slice(line);
                return Ok(line.len());
            }
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    }

    #[test]
    fn a_stopped_reader_ends_though_its_input_blocks() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = Arc::new(AtomicBool::new(false));
        let mut r = until_stopped(OneLineThenSilence(false), stop.clone());
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut r, &mut buf).unwrap(), ReadLine::Line(false));
        assert_eq!(buf, b"a line");
        let flag = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            flag.store(true, Ordering::SeqCst);
        });
        let started = std::time::Instant::now();
        assert_eq!(read_line(&mut r, &mut buf).unwrap(), ReadLine::Eof);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(stop.load(Ordering::SeqCst));
    }

    #[test]
    fn lines_are_capped_and_the_last_one_needs_no_newline() {
        let mut data = vec![b'a'; MAX_LINE + 10];
        data.extend_from_slice(b"\nshort\nlast");
        let mut r = io::Cursor::new(data);
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut r, &mut buf).unwrap(), ReadLine::Line(true));
        assert_eq!(buf.len(), MAX_LINE);
        assert_eq!(read_line(&mut r, &mut buf).unwrap(), ReadLine::Line(false));
        assert_eq!(buf, b"short");
        assert_eq!(read_line(&mut r, &mut buf).unwrap(), ReadLine::Line(false));
        assert_eq!(buf, b"last");
        assert_eq!(read_line(&mut r, &mut buf).unwrap(), ReadLine::Eof);
    }
}
