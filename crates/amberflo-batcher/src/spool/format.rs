//! The frame format shared by segment files and acknowledgement logs, and a chunked reader that
//! verifies frames and resynchronises past damage.
//!
//! A frame is a 21-byte header and the payload, all integers little-endian:
//!
//! ```text
//! 0..4    magic   b"AFsp"
//! 4..8    len     u32, payload length (at most MAX_PAYLOAD)
//! 8..12   crc     u32, CRC-32 (IEEE) of bytes 4..8 and 12..21+len (len, id, tag, payload)
//! 12..20  id      u64, the record's sequence number (0 in acknowledgement logs)
//! 20      tag     u8, for the writing process only (the flush epoch slot); ignored on replay
//! 21..    payload
//! ```
//!
//! The checksum covers the length, so a zeroed or flipped length is caught like any other
//! flipped bit; the magic lets the reader find the next frame after a damaged region (it tries
//! every offset where the magic appears and accepts only a frame whose checksum verifies).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;

/// The first four bytes of every frame.
pub(crate) const MAGIC: [u8; 4] = *b"AFsp";
/// Header bytes before the payload.
pub(crate) const HEADER: usize = 21;
/// The largest payload a frame may carry (a larger length is corruption).
pub(crate) const MAX_PAYLOAD: usize = 16 << 20;
/// How much the reader reads at a time.
const CHUNK: usize = 64 << 10;

/// Fills in the header of `frame`, whose first [`HEADER`] bytes are reserved and whose payload
/// follows. The payload must be at most [`MAX_PAYLOAD`] bytes (checked by the caller).
pub(crate) fn seal_frame(frame: &mut [u8], id: u64, tag: u8) {
    let len = u32::try_from(frame.len() - HEADER).unwrap_or(u32::MAX);
    frame[0..4].copy_from_slice(&MAGIC);
    frame[4..8].copy_from_slice(&len.to_le_bytes());
    frame[12..20].copy_from_slice(&id.to_le_bytes());
    frame[20] = tag;
    let crc = checksum(frame);
    frame[8..12].copy_from_slice(&crc.to_le_bytes());
}

/// A new frame buffer: the header reserved, room for `payload` more bytes.
pub(crate) fn frame_buffer(payload: usize) -> Vec<u8> {
    let mut frame = Vec::with_capacity(HEADER + payload);
    frame.resize(HEADER, 0);
    frame
}

/// The checksum of a whole frame (header included, the crc field excluded).
fn checksum(frame: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&frame[4..8]);
    hasher.update(&frame[12..]);
    hasher.finalize()
}

/// What the bytes at a position hold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A verified frame of `total` bytes.
    Frame { id: u64, tag: u8, total: usize },
    /// A frame may start here but more bytes are needed to tell.
    NeedMore,
    /// Not a valid frame.
    Bad,
}

/// Parses the frame at the start of `bytes`.
pub(crate) fn parse(bytes: &[u8]) -> Parsed {
    let magic_len = bytes.len().min(4);
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Parsed::Bad;
    }
    if bytes.len() < HEADER {
        return Parsed::NeedMore;
    }
    let len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    if len > MAX_PAYLOAD {
        return Parsed::Bad;
    }
    let total = HEADER + len;
    if bytes.len() < total {
        return Parsed::NeedMore;
    }
    let stored = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if checksum(&bytes[..total]) != stored {
        return Parsed::Bad;
    }
    let mut id = [0; 8];
    id.copy_from_slice(&bytes[12..20]);
    Parsed::Frame {
        id: u64::from_le_bytes(id),
        tag: bytes[20],
        total,
    }
}

/// A frame read from a file.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    pub(crate) id: u64,
    pub(crate) tag: u8,
    pub(crate) payload: &'a [u8],
}

/// Reads verified frames from a file, from an offset up to a limit, in chunks; skips damaged
/// regions (counting each once) by scanning for the next verified frame.
pub(crate) struct FrameReader {
    file: File,
    /// File offset of `buf[0]`.
    buf_start: u64,
    buf: Vec<u8>,
    /// Position of the next frame in `buf`.
    pos: usize,
    /// Inside a damaged region (already counted).
    resyncing: bool,
    /// Damaged regions skipped so far.
    pub(crate) corrupt: u64,
    /// Bytes skipped as damaged so far.
    pub(crate) corrupt_bytes: u64,
    /// The damaged region being skipped: its offset and `corrupt_bytes` when it began.
    region: Option<(u64, u64)>,
    /// The segment whose damage this reader reports (`None`: it only counts).
    segment: Option<u64>,
    /// Verified frames read, and their bytes (to estimate what a damaged region held).
    frames: u64,
    frame_bytes: u64,
}

/// The damaged regions of one segment logged one by one; beyond, they are only counted.
const LOGGED_REGIONS: u64 = 16;

impl FrameReader {
    /// A reader of `file` starting at `offset`.
    pub(crate) fn new(mut file: File, offset: u64) -> io::Result<Self> {
        file.seek(SeekFrom::Start(offset))?;
        Ok(FrameReader {
            file,
            buf_start: offset,
            buf: Vec::new(),
            pos: 0,
            resyncing: false,
            corrupt: 0,
            corrupt_bytes: 0,
            region: None,
            segment: None,
            frames: 0,
            frame_bytes: 0,
        })
    }

    /// Logs each damaged region of segment `first_id` at `warn` when it has been skipped
    /// (the first [`LOGGED_REGIONS`]; later ones only count).
    pub(crate) fn reporting(mut self, first_id: u64) -> Self {
        self.segment = Some(first_id);
        self
    }

    /// Ends the damaged region being skipped, if any, and reports it; `at_end` when the
    /// segment (or the readable part of it) ends inside the region.
    fn end_region(&mut self, at_end: bool) {
        self.resyncing = false;
        let (Some((offset, bytes_before)), Some(segment)) = (self.region.take(), self.segment)
        else {
            return;
        };
        let bytes_skipped = self.corrupt_bytes - bytes_before;
        // What it held, judging by the segment's intact frames (unknown without any).
        let records_lost_estimate = (self.frames > 0).then(|| {
            bytes_skipped
                .div_ceil(self.frame_bytes / self.frames)
                .max(1)
        });
        if self.corrupt <= LOGGED_REGIONS {
            tracing::warn!(
                segment,
                offset,
                bytes_skipped,
                records_lost_estimate,
                "amberflo-batcher: skipped a damaged spool region{}",
                if at_end {
                    " at the end of what was read (a torn or truncated tail: records written \
                     after it, if any, are lost too)"
                } else {
                    ""
                }
            );
        } else if self.corrupt == LOGGED_REGIONS + 1 {
            tracing::warn!(
                segment,
                "amberflo-batcher: more damaged regions in this spool segment; counted in stats, \
                 not logged"
            );
        }
    }

    /// The file offset of the next frame (or of the unread bytes).
    pub(crate) fn offset(&self) -> u64 {
        self.buf_start + self.pos as u64
    }

    /// Reads more bytes (up to `limit`), dropping the consumed ones; `false` at the limit.
    fn fill(&mut self, limit: u64) -> io::Result<bool> {
        let end = self.buf_start + self.buf.len() as u64;
        if end >= limit {
            return Ok(false);
        }
        self.buf.drain(..self.pos);
        self.buf_start += self.pos as u64;
        self.pos = 0;
        let want = usize::try_from(limit - end)
            .unwrap_or(usize::MAX)
            .min(CHUNK);
        let old = self.buf.len();
        self.buf.resize(old + want, 0);
        let mut got = 0;
        while got < want {
            match self.file.read(&mut self.buf[old + got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.buf.truncate(old + got);
                    return Err(error);
                }
            }
        }
        self.buf.truncate(old + got);
        Ok(got > 0)
    }

    /// Skips one byte of a damaged region, counting the region when it starts.
    fn skip_byte(&mut self) {
        if !self.resyncing {
            self.resyncing = true;
            self.corrupt += 1;
            self.region = Some((self.offset(), self.corrupt_bytes));
        }
        self.pos += 1;
        self.corrupt_bytes += 1;
    }

    /// The next verified frame before `limit`, or `None` at the limit (a torn or damaged tail
    /// is counted and skipped).
    pub(crate) fn next(&mut self, limit: u64) -> io::Result<Option<Frame<'_>>> {
        loop {
            if self.pos >= self.buf.len() && !self.fill(limit)? {
                self.end_region(true);
                return Ok(None);
            }
            // Fast skip to the next possible magic inside a damaged region.
            if self.resyncing && self.buf[self.pos] != MAGIC[0] {
                let rest = &self.buf[self.pos..];
                let skip = rest
                    .iter()
                    .position(|&byte| byte == MAGIC[0])
                    .unwrap_or(rest.len());
                self.pos += skip;
                self.corrupt_bytes += skip as u64;
                continue;
            }
            match parse(&self.buf[self.pos..]) {
                Parsed::Frame { id, tag, total } => {
                    self.end_region(false);
                    self.frames += 1;
                    self.frame_bytes += total as u64;
                    let range: Range<usize> = self.pos + HEADER..self.pos + total;
                    self.pos += total;
                    return Ok(Some(Frame {
                        id,
                        tag,
                        payload: &self.buf[range],
                    }));
                }
                Parsed::NeedMore => {
                    if !self.fill(limit)? {
                        // Truncated at the limit: a torn tail, or a damaged length.
                        self.skip_byte();
                    }
                }
                Parsed::Bad => self.skip_byte(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: u64, payload: &[u8]) -> Vec<u8> {
        let mut frame = frame_buffer(payload.len());
        frame.extend_from_slice(payload);
        seal_frame(&mut frame, id, 3);
        frame
    }

    #[test]
    fn a_sealed_frame_parses_and_any_flipped_bit_is_caught() {
        let bytes = frame(42, b"hello");
        assert_eq!(
            parse(&bytes),
            Parsed::Frame {
                id: 42,
                tag: 3,
                total: HEADER + 5
            }
        );
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(
                !matches!(parse(&damaged), Parsed::Frame { .. }),
                "bit {bit} flipped went unnoticed"
            );
        }
    }

    #[test]
    fn a_zeroed_length_is_caught() {
        let mut bytes = frame(1, b"payload");
        bytes[4..8].copy_from_slice(&[0; 4]);
        assert_eq!(parse(&bytes), Parsed::Bad);
    }
}
