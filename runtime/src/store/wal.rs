//! The write-ahead log: how a batch becomes atomic and durable without
//! sled's `apply_batch`.
//!
//! sled 0.34 makes a batch atomic by rolling its I/O buffer before and after
//! the batch; each roll hands a write to sled's thread pool, which wakes all
//! seven of its idle threads. That cost (20 to 40 context switches per
//! batch, a third of the server's CPU at one client) dominated small writes.
//! So the store writes each batch first here, as one checksummed record
//! in one file (with `fdatasync` when the write must be durable),
//! and then applies it to sled with plain inserts, which sled buffers in
//! memory. After a crash, sled holds some prefix of those inserts; every
//! record past the last one sled is known to hold is applied again on open.
//! A record is absolute (set this key to this value, remove that key), so
//! applying the records again, in order, ends in the same state as applying
//! them once, and a record that did not reach the file whole (torn tail)
//! was never applied nor acknowledged.
//!
//! Every record carries a log sequence number (LSN). Every
//! [`MARKER_EVERY`](super::MARKER_EVERY)-th record's inserts end with the
//! store's "applied through LSN" marker, and so does every checkpoint, so
//! the store knows, after a crash, which records sled surely holds
//! (`Store::open`) and applies the ones after it again, in order: a few it
//! may hold already, which changes nothing. Once sled has
//! flushed everything (a checkpoint), the log starts again at the beginning
//! of the file.
//!
//! The file is filled with zeros ahead of the records, in steps of
//! [`GROW`], and records overwrite them: `fdatasync` after an overwrite does
//! not have to commit a new file size to the file system's journal, which
//! made it about 20% faster here (107 against 131 µs p50). So the file
//! holds old bytes past the last record. The log is the chain of whole
//! records from the start with consecutive LSNs; the chain ends at the
//! first zero, torn, corrupt or older record. A checkpoint zeroes the first
//! header, which empties the chain.
//!
//! A durable record goes to the disk with `O_DIRECT`: the whole 4 KiB
//! blocks it touches, from the start of its first block (whose earlier
//! bytes, kept in memory, are rewritten unchanged) to the end of its last
//! (padded with zeros), then `fdatasync` (which also writes out any
//! unsynced records before it, and flushes the disk's cache). That skips the
//! page cache's write-back on the way to the sync: p50 89–119 µs against
//! 138–157 µs for a small record and its sync here (BENCHMARKS.md).
//! Records that need no sync are written through the page cache, which is
//! far cheaper when nobody waits for the disk. Where the file system
//! refuses `O_DIRECT` (tmpfs, some network file systems), every record goes
//! through the page cache.
//!
//! Record layout, little-endian: `len: u32` (of what follows the checksum),
//! `crc32: u32` (of those bytes), then `lsn: u64`, `count: u32` and `count`
//! entries, each `kind: u8` (1 = put, 0 = remove), `key_len: u32`, the key
//! and, for a put, `value_len: u32` and the value.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sled::IVec;

use super::error::StoreError;

/// One write of a record: a key and its new value (`None` removes it).
pub type Entry = (Vec<u8>, Option<IVec>);

/// A record read back at open.
pub struct Record {
    pub lsn: u64,
    pub entries: Vec<Entry>,
}

/// Largest record accepted when reading back; larger lengths mean a torn or
/// corrupt tail. The store splits bigger writes into several records.
const MAX_RECORD: u32 = 1 << 30;

/// The file grows by this many zeroed bytes when the records reach its end.
pub const GROW: u64 = 4 << 20;

/// What `O_DIRECT` aligns to: file offsets, lengths and memory. 4 KiB is a
/// multiple of every common device's logical block.
const BLOCK: usize = 4096;

/// The open log file.
pub struct Wal {
    file: File,
    /// The same file opened with `O_DIRECT`, for records that are synced;
    /// `None` where the file system refuses it.
    direct: Option<File>,
    path: PathBuf,
    /// Bytes of the chain of records: where the next one goes.
    len: u64,
    /// Size of the file (zeros and old bytes past `len`), a multiple of
    /// [`BLOCK`].
    size: u64,
    /// The file's bytes from the start of the block holding `len` up to
    /// `len`: what a direct write of the next record rewrites before it.
    tail: Vec<u8>,
    /// A failed record could not be erased: nothing more may be appended.
    failed: bool,
    /// Reused encoding buffer.
    buf: Vec<u8>,
    /// Reused aligned buffer for direct writes.
    blocks: Vec<Block>,
}

/// One aligned block of a direct write.
#[repr(C, align(4096))]
#[derive(Clone, Copy)]
struct Block([u8; BLOCK]);

/// `blocks` as bytes.
fn block_bytes(blocks: &mut [Block]) -> &mut [u8] {
    // SAFETY: a Block is exactly BLOCK initialized bytes with no padding
    // (repr(C), one byte array field, size == align), and any byte value is
    // valid, so the slice of blocks is a valid slice of bytes of that length,
    // borrowed mutably for the same lifetime.
    unsafe { std::slice::from_raw_parts_mut(blocks.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(blocks)) }
}

impl Wal {
    /// Open (or create) the log in `dir` and read back its chain of records.
    /// Whatever follows the chain (a torn record, old bytes) was never
    /// acknowledged or is already in sled.
    pub fn open(dir: &Path) -> Result<(Wal, Vec<Record>), StoreError> {
        let path = dir.join("wal");
        let io = |source| StoreError::Io { path: path.display().to_string(), source };
        let created = !path.exists();
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        if created {
            // The new name must survive a power cut too.
            File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (records, len) = decode_chain(&bytes);
        let tail = bytes[block_start(len) as usize..len as usize].to_vec();
        // O_DIRECT is an optimization: a file system that refuses it
        // (EINVAL at open) gets buffered writes.
        let direct = OpenOptions::new().write(true).custom_flags(libc::O_DIRECT).open(&path).ok();
        let mut wal = Wal {
            file,
            direct,
            path,
            len,
            size: bytes.len() as u64,
            tail,
            failed: false,
            buf: Vec::new(),
            blocks: Vec::new(),
        };
        if wal.size < GROW || !wal.size.is_multiple_of(BLOCK as u64) {
            wal.grow(wal.size.max(GROW))?;
        }
        Ok((wal, records))
    }

    fn io(&self, source: std::io::Error) -> StoreError {
        StoreError::Io { path: self.path.display().to_string(), source }
    }

    /// Fill the file with zeros up to at least `at_least` bytes.
    fn grow(&mut self, at_least: u64) -> Result<(), StoreError> {
        let target = at_least.div_ceil(GROW) * GROW;
        let zeros = vec![0u8; 1 << 20];
        let mut at = self.size;
        while at < target {
            let n = (target - at).min(zeros.len() as u64) as usize;
            self.file.write_all_at(&zeros[..n], at).map_err(|e| self.io(e))?;
            at += n as u64;
        }
        self.file.sync_all().map_err(|e| self.io(e))?;
        self.size = target;
        Ok(())
    }

    /// Bytes of records in the file.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Append one record; with `sync`, it is on disk when this returns. On
    /// failure its header is zeroed again, so it can never be applied later;
    /// if even that fails, the log refuses every further record.
    pub fn append(&mut self, lsn: u64, entries: &[Entry], sync: bool) -> Result<(), StoreError> {
        if self.failed {
            return Err(StoreError::Broken);
        }
        encode(&mut self.buf, lsn, entries);
        if self.buf.len() - 8 > MAX_RECORD as usize {
            // It would read back as torn: refuse it rather than lose it.
            let detail = format!("a write of {} bytes is over the log's record limit of {MAX_RECORD}", self.buf.len());
            return Err(self.io(std::io::Error::new(std::io::ErrorKind::InvalidInput, detail)));
        }
        let end = self.len + self.buf.len() as u64;
        // A direct write ends at the end of a block, and size is a multiple
        // of BLOCK, so end <= size keeps it inside the file too.
        if end > self.size {
            self.grow(end + GROW)?;
        }
        let written = match sync {
            true => self.write_direct().and_then(|()| self.file.sync_data()),
            false => self.file.write_all_at(&self.buf, self.len),
        };
        match written {
            Ok(()) => {
                self.advance(end);
                Ok(())
            }
            Err(source) => {
                // The record must not survive: it is reported as failed.
                let erased = self.file.write_all_at(&[0; 8], self.len).and_then(|()| self.file.sync_data());
                if let Err(e) = erased {
                    tracing::error!(error = %e, "could not erase a failed record of the write-ahead log");
                    self.failed = true;
                }
                Err(self.io(source))
            }
        }
    }

    /// Write the record in `buf` at `len` with `O_DIRECT`: the blocks from
    /// the one holding `len` (its first bytes from `tail`) through the
    /// record's end, padded with zeros. Through the page cache where direct
    /// writes are not possible.
    fn write_direct(&mut self) -> std::io::Result<()> {
        let Some(direct) = &self.direct else {
            return self.file.write_all_at(&self.buf, self.len);
        };
        let used = self.tail.len() + self.buf.len();
        let n = used.div_ceil(BLOCK);
        self.blocks.clear();
        self.blocks.resize(n, Block([0; BLOCK]));
        let bytes = block_bytes(&mut self.blocks);
        bytes[..self.tail.len()].copy_from_slice(&self.tail);
        bytes[self.tail.len()..used].copy_from_slice(&self.buf);
        match direct.write_all_at(bytes, block_start(self.len)) {
            // Alignment this device does not accept: nothing was written.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                tracing::info!(error = %e, "the write-ahead log writes through the page cache (no O_DIRECT here)");
                self.direct = None;
                self.file.write_all_at(&self.buf, self.len)
            }
            other => other,
        }
    }

    /// The record in `buf` is written: move `len` (and `tail`) to its `end`.
    fn advance(&mut self, end: u64) {
        let start = block_start(end);
        if start == block_start(self.len) {
            self.tail.extend_from_slice(&self.buf);
        } else {
            self.tail.clear();
            self.tail.extend_from_slice(&self.buf[(start - self.len) as usize..]);
        }
        self.len = end;
    }

    /// Empty the log (after a checkpoint: sled holds everything on disk).
    pub fn reset(&mut self) -> Result<(), StoreError> {
        self.file.write_all_at(&[0; 8], 0).and_then(|()| self.file.sync_data()).map_err(|e| self.io(e))?;
        self.len = 0;
        self.tail.clear();
        Ok(())
    }
}

/// Start of the block that holds offset `at`.
fn block_start(at: u64) -> u64 {
    at - at % BLOCK as u64
}

fn encode(buf: &mut Vec<u8>, lsn: u64, entries: &[Entry]) {
    buf.clear();
    buf.extend_from_slice(&[0; 8]);
    buf.extend_from_slice(&lsn.to_le_bytes());
    buf.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for (key, value) in entries {
        buf.push(u8::from(value.is_some()));
        buf.extend_from_slice(&(key.len() as u32).to_le_bytes());
        buf.extend_from_slice(key);
        if let Some(v) = value {
            buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
            buf.extend_from_slice(v);
        }
    }
    let body_len = (buf.len() - 8) as u32;
    let crc = crc32fast::hash(&buf[8..]);
    buf[0..4].copy_from_slice(&body_len.to_le_bytes());
    buf[4..8].copy_from_slice(&crc.to_le_bytes());
}

/// The chain from the start of `bytes` (whole records, consecutive LSNs)
/// and the length it spans.
fn decode_chain(bytes: &[u8]) -> (Vec<Record>, u64) {
    let mut records: Vec<Record> = Vec::new();
    let mut at = 0usize;
    while let Some((record, used)) = decode_one(&bytes[at..]) {
        if records.last().is_some_and(|prev| record.lsn != prev.lsn + 1) {
            break;
        }
        records.push(record);
        at += used;
    }
    (records, at as u64)
}

fn decode_one(bytes: &[u8]) -> Option<(Record, usize)> {
    let mut r = Reader(bytes);
    let len = r.u32()?;
    if len > MAX_RECORD {
        return None;
    }
    let crc = r.u32()?;
    let body = r.take(len as usize)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let mut b = Reader(body);
    let lsn = b.u64()?;
    let count = b.u32()?;
    let mut entries = Vec::with_capacity(count.min(1 << 16) as usize);
    for _ in 0..count {
        let kind = b.take(1)?[0];
        let key_len = b.u32()? as usize;
        let key = b.take(key_len)?.to_vec();
        let value = match kind {
            0 => None,
            1 => {
                let value_len = b.u32()? as usize;
                Some(IVec::from(b.take(value_len)?))
            }
            _ => return None,
        };
        entries.push((key, value));
    }
    if !b.0.is_empty() {
        return None;
    }
    Some((Record { lsn, entries }, 8 + len as usize))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: u8) -> Vec<Entry> {
        vec![(vec![1, n], Some(IVec::from(&[n; 3][..]))), (vec![2, n], None)]
    }

    #[test]
    fn records_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, found) = Wal::open(dir.path()).unwrap();
        assert!(found.is_empty());
        wal.append(7, &entries(1), true).unwrap();
        wal.append(8, &entries(2), false).unwrap();
        drop(wal);
        let (wal, found) = Wal::open(dir.path()).unwrap();
        assert_eq!(found.iter().map(|r| r.lsn).collect::<Vec<_>>(), vec![7, 8]);
        assert_eq!(found[1].entries, entries(2));
        assert!(!wal.is_empty() && wal.len() < GROW);
        assert_eq!(std::fs::metadata(dir.path().join("wal")).unwrap().len(), GROW, "zeros ahead of the records");
    }

    #[test]
    fn the_file_grows_past_a_step() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        let big = vec![(vec![1], Some(IVec::from(vec![5u8; (GROW as usize) / 3])))];
        for lsn in 1..=4 {
            wal.append(lsn, &big, false).unwrap();
        }
        drop(wal);
        assert!(std::fs::metadata(dir.path().join("wal")).unwrap().len() > GROW);
        let (_, found) = Wal::open(dir.path()).unwrap();
        assert_eq!(found.iter().map(|r| r.lsn).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    }

    #[test]
    fn the_chain_ends_at_a_torn_or_corrupt_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal");
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        wal.append(1, &entries(1), true).unwrap();
        let whole = wal.len();
        wal.append(2, &entries(2), true).unwrap();
        let end = wal.len() as usize;
        drop(wal);
        // Torn: the second record lost its last bytes.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[end - 3..end].fill(0);
        std::fs::write(&path, &bytes).unwrap();
        let (mut wal, found) = Wal::open(dir.path()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(wal.len(), whole, "the next record overwrites the torn one");
        // Corrupt: a flipped byte inside the next record.
        wal.append(2, &entries(3), true).unwrap();
        drop(wal);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[whole as usize + 12] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, found) = Wal::open(dir.path()).unwrap();
        assert_eq!(found.iter().map(|r| r.lsn).collect::<Vec<_>>(), vec![1]);
    }

    /// Synced records go through O_DIRECT, rewriting the start of their
    /// first block; unsynced ones through the page cache. Mixed, across
    /// block boundaries and a reset, the file reads back as written; and
    /// the same where O_DIRECT is refused (everything buffered).
    #[test]
    fn direct_and_buffered_records_mix() {
        for direct in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let (mut wal, _) = Wal::open(dir.path()).unwrap();
            if !direct {
                wal.direct = None;
            }
            let sized = |lsn: u64| {
                let n = (lsn as usize * 977) % 9000;
                vec![(lsn.to_le_bytes().to_vec(), Some(IVec::from(vec![lsn as u8; n])))]
            };
            let mut lsns = Vec::new();
            for lsn in 1..=40u64 {
                wal.append(lsn, &sized(lsn), lsn % 3 != 0).unwrap();
                lsns.push(lsn);
                if lsn == 20 {
                    wal.reset().unwrap();
                    lsns.clear();
                }
            }
            // tmpfs has no O_DIRECT: there both rounds test the buffered path.
            eprintln!("asked for direct writes: {direct}, had them: {}", wal.direct.is_some());
            drop(wal);
            let (wal, found) = Wal::open(dir.path()).unwrap();
            assert_eq!(found.iter().map(|r| r.lsn).collect::<Vec<_>>(), lsns);
            for r in &found {
                assert_eq!(r.entries, sized(r.lsn), "record {}", r.lsn);
            }
            assert_eq!(wal.tail.len() as u64, wal.len() % BLOCK as u64);
        }
    }

    /// After a reset the file still holds the old records past the new
    /// ones; they must not join the chain.
    #[test]
    fn reset_empties_the_log_and_old_records_stay_out() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        for lsn in 1..=5 {
            wal.append(lsn, &entries(lsn as u8), false).unwrap();
        }
        wal.reset().unwrap();
        drop(wal);
        let (mut wal, found) = Wal::open(dir.path()).unwrap();
        assert!(found.is_empty() && wal.is_empty(), "a reset log is empty");
        // One new record of the same size as the old ones: the old record
        // 2 follows it whole, but its LSN is not the next one.
        wal.append(6, &entries(6), true).unwrap();
        drop(wal);
        let (_, found) = Wal::open(dir.path()).unwrap();
        assert_eq!(found.iter().map(|r| r.lsn).collect::<Vec<_>>(), vec![6]);
    }
}
