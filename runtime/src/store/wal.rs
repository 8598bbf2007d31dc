//! The write-ahead log: how a batch becomes atomic and durable without
//! sled's `apply_batch`.
//!
//! sled 0.34 makes a batch atomic by rolling its I/O buffer before and after
//! the batch; each roll hands a write to sled's thread pool, which wakes all
//! seven of its idle threads. That cost (about 40 context switches per
//! batch, a third of the server's CPU at one client) dominated small writes.
//! So the store writes each batch first here, as one checksummed record
//! appended to one file (with `fdatasync` when the write must be durable),
//! and then applies it to sled with plain inserts, which sled buffers in
//! memory. After a crash, sled holds some prefix of those inserts; every
//! record past the last one sled fully holds is applied again on open. A
//! record is absolute (set this key to this value, remove that key), so
//! applying it twice is the same as once, and a record that did not reach
//! the file whole (torn tail) was never applied nor acknowledged.
//!
//! Every record carries a log sequence number (LSN), and the inserts of a
//! record end with the store's "applied through LSN" marker, so the store
//! knows, after a crash, which records sled already holds (`Store::open`).
//! Once sled has flushed everything (a checkpoint), the file is emptied.
//!
//! Record layout, little-endian: `len: u32` (of what follows the checksum),
//! `crc32: u32` (of those bytes), then `lsn: u64`, `count: u32` and `count`
//! entries, each `kind: u8` (1 = put, 0 = remove), `key_len: u32`, the key
//! and, for a put, `value_len: u32` and the value.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
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

/// The open log file.
pub struct Wal {
    file: File,
    path: PathBuf,
    /// Bytes of whole records in the file.
    len: u64,
    /// Reused encoding buffer.
    buf: Vec<u8>,
}

impl Wal {
    /// Open (or create) the log in `dir` and read back its whole records. A
    /// torn or corrupt tail is cut off: it was never acknowledged.
    pub fn open(dir: &Path) -> Result<(Wal, Vec<Record>), StoreError> {
        let path = dir.join("wal");
        let io = |source| StoreError::Io { path: path.display().to_string(), source };
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (records, len) = decode_all(&bytes);
        if len < bytes.len() as u64 {
            tracing::warn!(path = %path.display(), kept = len, dropped = bytes.len() as u64 - len, "cut a torn tail off the write-ahead log");
            file.set_len(len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::Start(len)).map_err(io)?;
        Ok((Wal { file, path, len, buf: Vec::new() }, records))
    }

    /// Bytes of records in the file.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Append one record; with `sync`, it is on disk when this returns. On
    /// failure the file is cut back to where it was, so the record can never
    /// be applied later.
    pub fn append(&mut self, lsn: u64, entries: &[Entry], sync: bool) -> Result<(), StoreError> {
        encode(&mut self.buf, lsn, entries);
        let written = self.file.write_all(&self.buf).and_then(|()| if sync { self.file.sync_data() } else { Ok(()) });
        match written {
            Ok(()) => {
                self.len += self.buf.len() as u64;
                Ok(())
            }
            Err(source) => {
                // The record must not survive: it will be reported as failed.
                let cut = self.file.set_len(self.len).and_then(|()| self.file.seek(SeekFrom::Start(self.len)));
                if let Err(e) = cut {
                    tracing::error!(error = %e, "could not cut a failed record off the write-ahead log");
                }
                Err(StoreError::Io { path: self.path.display().to_string(), source })
            }
        }
    }

    /// Empty the file (after a checkpoint: sled holds everything on disk).
    pub fn reset(&mut self) -> Result<(), StoreError> {
        let io = |source| StoreError::Io { path: self.path.display().to_string(), source };
        self.file.set_len(0).map_err(io)?;
        self.file.seek(SeekFrom::Start(0)).map_err(io)?;
        self.file.sync_all().map_err(io)?;
        self.len = 0;
        Ok(())
    }
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

/// Every whole record from the start of `bytes`, and the length they span.
fn decode_all(bytes: &[u8]) -> (Vec<Record>, u64) {
    let mut records = Vec::new();
    let mut at = 0usize;
    while let Some((record, used)) = decode_one(&bytes[at..]) {
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
        assert_eq!(wal.len(), std::fs::metadata(dir.path().join("wal")).unwrap().len());
    }

    #[test]
    fn a_torn_or_corrupt_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        wal.append(1, &entries(1), true).unwrap();
        let whole = wal.len();
        wal.append(2, &entries(2), true).unwrap();
        drop(wal);
        let path = dir.path().join("wal");
        // Torn: the second record lost its last bytes.
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, &full[..full.len() - 3]).unwrap();
        let (mut wal, found) = Wal::open(dir.path()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
        // Corrupt: a flipped byte inside the next record.
        wal.append(3, &entries(3), true).unwrap();
        drop(wal);
        let mut bytes = std::fs::read(&path).unwrap();
        let at = whole as usize + 12;
        bytes[at] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, found) = Wal::open(dir.path()).unwrap();
        assert_eq!(found.iter().map(|r| r.lsn).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn reset_empties_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        wal.append(1, &entries(1), false).unwrap();
        wal.reset().unwrap();
        wal.append(2, &entries(2), true).unwrap();
        drop(wal);
        let (_, found) = Wal::open(dir.path()).unwrap();
        assert_eq!(found.iter().map(|r| r.lsn).collect::<Vec<_>>(), vec![2]);
    }
}
