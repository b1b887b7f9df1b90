//! Byte-level reading and writing: a cursor over a slice that never panics,
//! and helpers for the length-prefixed vectors of RFC 8446 §3.4.

/// A cursor over a byte slice. Every read returns `None` when the input is
/// too short; nothing here indexes in a way that can panic.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// What has not been read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&b, tail) = self.rest.split_first()?;
        self.rest = tail;
        Some(b)
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }

    pub(crate) fn u24(&mut self) -> Option<u32> {
        let b = self.take(3)?;
        Some(u32::from_be_bytes([0, *b.first()?, *b.get(1)?, *b.get(2)?]))
    }

    /// A vector with a one-byte length prefix: `opaque x<0..2^8-1>`.
    pub(crate) fn vec_u8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    /// A vector with a two-byte length prefix: `opaque x<0..2^16-1>`.
    pub(crate) fn vec_u16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    /// A vector with a three-byte length prefix: `opaque x<0..2^24-1>`.
    pub(crate) fn vec_u24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.take(usize::try_from(n).ok()?)
    }

    /// Reads a list of `u16` values that fills `bytes` exactly.
    pub(crate) fn u16_list(bytes: &[u8]) -> Option<Vec<u16>> {
        if !bytes.len().is_multiple_of(2) {
            return None;
        }
        Some(
            bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect(),
        )
    }
}

pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn put_u24(out: &mut Vec<u8>, v: u32) {
    let b = v.to_be_bytes();
    out.extend_from_slice(&b[1..]);
}

/// Writes a vector with a one-byte length prefix; longer contents are cut
/// at 255 bytes (the builders never produce such).
pub(crate) fn put_vec_u8(out: &mut Vec<u8>, body: &[u8]) {
    let n = body.len().min(usize::from(u8::MAX));
    out.push(n as u8);
    out.extend_from_slice(&body[..n]);
}

/// Writes a vector with a two-byte length prefix, cut at 65535 bytes.
pub(crate) fn put_vec_u16(out: &mut Vec<u8>, body: &[u8]) {
    let n = body.len().min(usize::from(u16::MAX));
    put_u16(out, n as u16);
    out.extend_from_slice(&body[..n]);
}

/// Writes a vector with a three-byte length prefix, cut at 2^24-1 bytes.
pub(crate) fn put_vec_u24(out: &mut Vec<u8>, body: &[u8]) {
    let n = body.len().min(0x00ff_ffff);
    put_u24(out, n as u32);
    out.extend_from_slice(&body[..n]);
}

pub(crate) fn u16_list_bytes(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new(&[0x00, 0x05, 0xaa]);
        assert_eq!(r.vec_u16(), None);
        let mut r = Reader::new(&[0x02, 0xaa, 0xbb, 0xcc]);
        assert_eq!(r.vec_u8(), Some(&[0xaa, 0xbb][..]));
        assert_eq!(r.u16(), None);
        assert_eq!(r.u8(), Some(0xcc));
        assert!(r.is_empty());
        assert_eq!(r.u24(), None);
    }

    #[test]
    fn odd_u16_lists_are_rejected() {
        assert_eq!(Reader::u16_list(&[1, 2, 3]), None);
        assert_eq!(Reader::u16_list(&[1, 2, 0, 3]), Some(vec![0x0102, 3]));
    }
}
