//! The event log's own files: append-only segments beside sled.
//!
//! Events lived in a sled tree keyed by sequence number. Every one was
//! inserted at the right edge of that tree, so sled split a leaf every ~9
//! inserts and wrote each ~600-byte event several times over (delta,
//! consolidation, both halves of each split): with the execution record, the
//! largest part of the single writer's CPU (BENCHMARKS.md, 2026-12-04).
//! The log is read in order and trimmed from the front, which is what plain
//! files do best, so it lives here now.
//!
//! Atomicity and durability still come from the write-ahead log (`wal`):
//! a commit's events are entries of its record like any other write, and
//! the store appends them here only after the record is in the write-ahead
//! log, through the page cache, without a sync of their own. A checkpoint
//! syncs these files before the write-ahead log starts over and then records
//! the last event they hold (`keys::meta::LAST_SEQ`). So at open everything
//! up to that event is here on disk, and every later one is in the
//! write-ahead log: the store cuts this log back to that event and appends
//! the later ones again from the write-ahead log (`Store::open`). A torn or
//! half-indexed tail from a crash is thereby always past the cut.
//!
//! Layout: a directory of segments, each a pair of files named by the
//! sequence number of its first event: `<first>.log` holds the events,
//! each `len: u32`, `crc32: u32` (of the next two fields), `seq: u64`, then
//! `len` bytes of the event's JSON, all little-endian; `<first>.idx` holds
//! each event's offset in the `.log` as a `u32`. A segment is closed once it
//! passes its size ([`SEGMENT_BYTES`] by default) and a new one begins.
//! The offsets are kept in memory (4 bytes per event), so a read of any
//! range is one positioned read. They reach the `.idx` only when the log is
//! synced: open needs them only up to the cut, and a commit then costs one
//! write, not two. Retention removes whole segments below the log's floor
//! (`log`); the floor itself may sit inside a segment.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::error::StoreError;

/// Size past which a segment is closed and the next event starts a new one.
pub const SEGMENT_BYTES: u64 = 16 << 20;
/// Frame header: `len`, `crc32`, `seq`.
const HEADER: usize = 16;
/// Largest event accepted, when writing and when reading back.
const MAX_EVENT: usize = 64 << 20;

/// The event log in one directory.
pub struct EventLog {
    dir: PathBuf,
    segment_bytes: u64,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    /// In order of their first events; the last one takes appends.
    segments: Vec<Segment>,
    /// Files written since the last sync.
    unsynced: Vec<Arc<File>>,
    /// Segments were created or removed since the last sync.
    dir_changed: bool,
}

struct Segment {
    first: u64,
    log: Arc<File>,
    idx: Arc<File>,
    /// Offset in `log` of each event, `first` onwards.
    offsets: Vec<u32>,
    /// How many of `offsets` the `.idx` file holds.
    indexed: usize,
    /// Bytes of whole events in `log`.
    end: u64,
}

impl Segment {
    fn last(&self) -> Option<u64> {
        (!self.offsets.is_empty()).then(|| self.first + self.offsets.len() as u64 - 1)
    }
}

impl EventLog {
    /// Open (or create) the log in `dir`. Each segment holds the events its
    /// index lists whole; anything after them (written since the last sync)
    /// is cut off, and so is every segment after the first gap this leaves.
    pub fn open(dir: &Path, segment_bytes: u64) -> Result<EventLog, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut firsts = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let name = entry.map_err(|e| io(dir, e))?.file_name();
            let name = name.to_string_lossy();
            if let Some(first) = name.strip_suffix(".log").and_then(|n| n.parse::<u64>().ok()) {
                firsts.push(first);
            }
        }
        firsts.sort_unstable();
        let log = EventLog { dir: dir.to_path_buf(), segment_bytes, inner: RwLock::new(Inner::default()) };
        let mut segments = Vec::with_capacity(firsts.len());
        for first in firsts {
            segments.push(log.open_segment(first)?);
        }
        // Keep segments while each follows the one before; what follows a
        // gap (a segment cut short, or an empty one) was written after the
        // last sync, so it is past the store's cut and comes again from the
        // write-ahead log.
        let mut kept: Vec<Segment> = Vec::with_capacity(segments.len());
        let mut gap = false;
        for s in segments {
            gap = gap
                || kept
                    .last()
                    .is_some_and(|k: &Segment| k.offsets.is_empty() || k.last().map(|l| l + 1) != Some(s.first));
            if gap {
                log.remove_files(s.first)?;
            } else {
                kept.push(s);
            }
        }
        log.write().segments = kept;
        Ok(log)
    }

    fn path(&self, first: u64, ext: &str) -> PathBuf {
        self.dir.join(format!("{first:020}.{ext}"))
    }

    fn open_segment(&self, first: u64) -> Result<Segment, StoreError> {
        let open = |ext| {
            let path = self.path(first, ext);
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map(Arc::new)
                .map_err(|e| io(&path, e))
        };
        let (log, idx) = (open("log")?, open("idx")?);
        let log_len = log.metadata().map_err(|e| io(&self.path(first, "log"), e))?.len();
        let mut raw = Vec::new();
        let idx_len = idx.metadata().map_err(|e| io(&self.path(first, "idx"), e))?.len();
        raw.resize(idx_len as usize / 4 * 4, 0);
        idx.read_exact_at(&mut raw, 0).map_err(|e| io(&self.path(first, "idx"), e))?;
        let mut offsets: Vec<u32> = raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        // Keep the listed events up to the newest one that is whole in the
        // `.log` where the index says (checked from the end, so an open
        // reads a few events, not all); then cut both files to it. The
        // events the store relies on (through its cut) were synced, offsets
        // included, before the cut was recorded; past it, whatever this
        // keeps is cut by the store and written again. Every read checks
        // each event's checksum.
        let mut whole = offsets.len();
        let mut end = 0u64;
        while let Some(i) = whole.checked_sub(1) {
            let at = offsets[i];
            let ordered = if i == 0 { at == 0 } else { offsets[i - 1] < at };
            if let Some(len) = frame_len(&log, at, first + i as u64, log_len).filter(|_| ordered) {
                end = u64::from(at) + len;
                break;
            }
            whole = i;
        }
        offsets.truncate(whole);
        if log_len != end {
            log.set_len(end).map_err(|e| io(&self.path(first, "log"), e))?;
        }
        if idx_len != whole as u64 * 4 {
            idx.set_len(whole as u64 * 4).map_err(|e| io(&self.path(first, "idx"), e))?;
        }
        Ok(Segment { first, log, idx, indexed: offsets.len(), offsets, end })
    }

    fn remove_files(&self, first: u64) -> Result<(), StoreError> {
        for ext in ["log", "idx"] {
            let path = self.path(first, ext);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path, e)),
            }
        }
        Ok(())
    }

    fn read_lock(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sequence number of the oldest event the files hold.
    pub fn first(&self) -> Option<u64> {
        let inner = self.read_lock();
        inner.segments.first().filter(|s| !s.offsets.is_empty()).map(|s| s.first)
    }

    /// Sequence number of the newest event.
    pub fn last(&self) -> Option<u64> {
        self.read_lock().segments.last().and_then(Segment::last)
    }

    /// Append events, in order; the first must follow the newest one held
    /// (any number starts an empty log). Written through the page cache:
    /// durable only after [`sync`](Self::sync).
    pub fn append<'a>(&self, events: impl IntoIterator<Item = (u64, &'a [u8])>) -> Result<(), StoreError> {
        let mut events = events.into_iter().peekable();
        let Some(&(start, _)) = events.peek() else {
            return Ok(());
        };
        let mut inner = self.write();
        let expected = inner.segments.last().map(|s| s.last().map_or(s.first, |l| l + 1));
        if expected.is_some_and(|e| e != start) {
            return Err(corrupt(format!("event {start} appended where {expected:?} was due")));
        }
        let roll = match inner.segments.last() {
            None => true,
            Some(s) => s.end >= self.segment_bytes && !s.offsets.is_empty(),
        };
        if roll {
            let segment = self.open_segment(start)?;
            if segment.end != 0 {
                return Err(corrupt(format!("a new segment {start} already holds events")));
            }
            inner.segments.push(segment);
            inner.dir_changed = true;
        }
        let Inner { segments, unsynced, .. } = &mut *inner;
        let Some(s) = segments.last_mut() else {
            return Err(corrupt("no segment to append to"));
        };
        let mut frames = Vec::new();
        let mut offsets = Vec::new();
        for (seq, (n, payload)) in (start..).zip(events) {
            if n != seq {
                return Err(corrupt(format!("event {n} appended where {seq} was due")));
            }
            if payload.len() > MAX_EVENT {
                return Err(corrupt(format!("event {n} is {} bytes, over the limit of {MAX_EVENT}", payload.len())));
            }
            let at = s.end + frames.len() as u64;
            let at = u32::try_from(at).map_err(|_| corrupt("segment over 4 GiB"))?;
            offsets.push(at);
            frames.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            frames.extend_from_slice(&checksum(n, payload).to_le_bytes());
            frames.extend_from_slice(&n.to_le_bytes());
            frames.extend_from_slice(payload);
        }
        s.log.write_all_at(&frames, s.end).map_err(|e| io(&self.path(s.first, "log"), e))?;
        s.end += frames.len() as u64;
        s.offsets.extend_from_slice(&offsets);
        if !unsynced.iter().any(|u| Arc::ptr_eq(u, &s.log)) {
            unsynced.push(s.log.clone());
        }
        Ok(())
    }

    /// Call `f` with each event from `from` through `upto`, at most
    /// `limit`, in order, while it returns `true`. Stops early at the first
    /// event the files do not hold (trimmed, or not written yet).
    pub fn read(
        &self,
        from: u64,
        upto: u64,
        limit: usize,
        mut f: impl FnMut(u64, &[u8]) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let mut next = from;
        let mut left = limit as u64;
        let mut buf = Vec::new();
        while next <= upto && left > 0 {
            // Under the lock, only where the bytes are: the files only grow
            // (or lose whole old segments, whose open files stay readable).
            let (file, start, stop, last, first) = {
                let inner = self.read_lock();
                let i = inner.segments.partition_point(|s| s.first <= next);
                let Some(s) = i.checked_sub(1).map(|i| &inner.segments[i]) else {
                    return Ok(());
                };
                let Some(held) = s.last().filter(|&l| l >= next) else {
                    return Ok(());
                };
                let last = upto.min(held).min(next + left - 1);
                let (a, b) = ((next - s.first) as usize, (last - s.first) as usize);
                let stop = s.offsets.get(b + 1).map_or(s.end, |&o| u64::from(o));
                (s.log.clone(), u64::from(s.offsets[a]), stop, last, s.first)
            };
            buf.resize((stop - start) as usize, 0);
            file.read_exact_at(&mut buf, start).map_err(|e| io(&self.path(first, "log"), e))?;
            let mut at = 0;
            for seq in next..=last {
                let (payload, len) = parse_frame(&buf[at..], seq)
                    .ok_or_else(|| corrupt(format!("event {seq} in segment {first} is torn or corrupt")))?;
                if !f(seq, payload)? {
                    return Ok(());
                }
                at += len;
            }
            left -= last - next + 1;
            next = last + 1;
        }
        Ok(())
    }

    /// Write everything appended so far to the disk, offsets included.
    pub fn sync(&self) -> Result<(), StoreError> {
        let (files, dir_changed) = {
            let mut inner = self.write();
            let Inner { segments, unsynced, .. } = &mut *inner;
            for s in segments.iter_mut().filter(|s| s.indexed < s.offsets.len()) {
                let bytes: Vec<u8> = s.offsets[s.indexed..].iter().flat_map(|o| o.to_le_bytes()).collect();
                s.idx.write_all_at(&bytes, s.indexed as u64 * 4).map_err(|e| io(&self.path(s.first, "idx"), e))?;
                s.indexed = s.offsets.len();
                unsynced.push(s.idx.clone());
            }
            (std::mem::take(unsynced), std::mem::take(&mut inner.dir_changed))
        };
        for f in &files {
            f.sync_data().map_err(|e| io(&self.dir, e))?;
        }
        if dir_changed {
            File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|e| io(&self.dir, e))?;
        }
        Ok(())
    }

    /// Drop every event after `seq` (at open: they come again from the
    /// write-ahead log).
    pub fn truncate_after(&self, seq: u64) -> Result<(), StoreError> {
        let mut inner = self.write();
        while let Some(s) = inner.segments.last() {
            if s.first > seq {
                let first = s.first;
                inner.segments.pop();
                self.remove_files(first)?;
                inner.dir_changed = true;
                continue;
            }
            let keep = (seq - s.first + 1) as usize;
            if keep < s.offsets.len() {
                let end = u64::from(s.offsets[keep]);
                s.log.set_len(end).map_err(|e| io(&self.path(s.first, "log"), e))?;
                if s.indexed > keep {
                    s.idx.set_len(keep as u64 * 4).map_err(|e| io(&self.path(s.first, "idx"), e))?;
                }
                let (log, idx) = (s.log.clone(), s.idx.clone());
                if let Some(s) = inner.segments.last_mut() {
                    s.offsets.truncate(keep);
                    s.indexed = s.indexed.min(keep);
                    s.end = end;
                }
                inner.unsynced.extend([log, idx]);
            }
            break;
        }
        Ok(())
    }

    /// Remove the segments that hold only events before `floor` (never the
    /// newest segment). Returns how many it removed.
    pub fn remove_before(&self, floor: u64) -> Result<usize, StoreError> {
        let mut inner = self.write();
        let mut removed = 0;
        while inner.segments.len() > 1 && inner.segments[1].first <= floor {
            let s = inner.segments.remove(0);
            self.remove_files(s.first)?;
            inner.dir_changed = true;
            removed += 1;
        }
        Ok(removed)
    }

    /// Remove every segment (to rebuild the log from scratch).
    pub fn clear(&self) -> Result<(), StoreError> {
        let mut inner = self.write();
        for s in std::mem::take(&mut inner.segments) {
            self.remove_files(s.first)?;
        }
        inner.unsynced.clear();
        inner.dir_changed = true;
        Ok(())
    }
}

/// The length of the whole, intact frame of event `seq` at `at`, if it is one.
fn frame_len(log: &File, at: u32, seq: u64, log_len: u64) -> Option<u64> {
    let mut header = [0u8; HEADER];
    log.read_exact_at(&mut header, u64::from(at)).ok()?;
    let len = u32::from_le_bytes(header[0..4].try_into().ok()?) as usize;
    let total = (HEADER + len) as u64;
    if len > MAX_EVENT || u64::from(at) + total > log_len {
        return None;
    }
    let mut frame = vec![0u8; HEADER + len];
    log.read_exact_at(&mut frame, u64::from(at)).ok()?;
    parse_frame(&frame, seq).map(|_| total)
}

/// The payload of event `seq` at the start of `bytes`, and the frame's length.
fn parse_frame(bytes: &[u8], seq: u64) -> Option<(&[u8], usize)> {
    let header = bytes.get(..HEADER)?;
    let len = u32::from_le_bytes(header[0..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..8].try_into().ok()?);
    let found = u64::from_le_bytes(header[8..16].try_into().ok()?);
    let payload = bytes.get(HEADER..HEADER.checked_add(len)?)?;
    (found == seq && checksum(seq, payload) == crc).then_some((payload, HEADER + len))
}

fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(payload);
    h.finalize()
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io { path: path.display().to_string(), source }
}

fn corrupt(detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt { tree: "events", detail: detail.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(seq: u64) -> Vec<u8> {
        format!("{{\"seq\":{seq},\"pad\":\"{}\"}}", "x".repeat((seq % 7) as usize * 10)).into_bytes()
    }

    /// A new log in a new directory, with segments of `segment_bytes`.
    fn fresh(segment_bytes: u64) -> (tempfile::TempDir, EventLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(dir.path(), segment_bytes).unwrap();
        (dir, log)
    }

    fn append(log: &EventLog, seqs: std::ops::RangeInclusive<u64>) {
        let bodies: Vec<(u64, Vec<u8>)> = seqs.map(|s| (s, payload(s))).collect();
        log.append(bodies.iter().map(|(s, p)| (*s, p.as_slice()))).unwrap();
    }

    fn read(log: &EventLog, from: u64, upto: u64, limit: usize) -> Vec<u64> {
        let mut out = Vec::new();
        log.read(from, upto, limit, |seq, bytes| {
            assert_eq!(bytes, payload(seq).as_slice(), "event {seq} reads back as written");
            out.push(seq);
            Ok(true)
        })
        .unwrap();
        out
    }

    fn segment_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".log"))
            .collect();
        names.sort();
        names
    }

    /// Ranges read back whole and in order, across segments, bounded by
    /// `upto` and `limit`, and the same after a reopen.
    #[test]
    fn ranges_read_back_across_segments_and_a_reopen() {
        let (dir, log) = fresh(300);
        assert_eq!((log.first(), log.last()), (None, None));
        assert_eq!(read(&log, 1, 10, 10), Vec::<u64>::new());
        for batch in [5..=9, 10..=10, 11..=30, 31..=33] {
            append(&log, batch);
        }
        assert!(segment_files(dir.path()).len() > 2, "{:?}", segment_files(dir.path()));
        assert_eq!((log.first(), log.last()), (Some(5), Some(33)));
        assert_eq!(read(&log, 5, 33, 100), (5..=33).collect::<Vec<_>>());
        assert_eq!(read(&log, 8, 20, 4), vec![8, 9, 10, 11]);
        assert_eq!(read(&log, 30, 100, 100), vec![30, 31, 32, 33]);
        assert_eq!(read(&log, 2, 10, 10), Vec::<u64>::new(), "nothing before the first event");
        log.sync().unwrap();
        drop(log);
        let log = EventLog::open(dir.path(), 300).unwrap();
        assert_eq!((log.first(), log.last()), (Some(5), Some(33)));
        assert_eq!(read(&log, 5, 33, 100), (5..=33).collect::<Vec<_>>());
        append(&log, 34..=35);
        assert_eq!(read(&log, 33, 35, 10), vec![33, 34, 35]);
    }

    #[test]
    fn appends_out_of_order_are_refused() {
        let (_dir, log) = fresh(1 << 20);
        append(&log, 1..=3);
        let p = payload(5);
        assert!(log.append([(5, p.as_slice())]).is_err(), "a gap");
        let p = payload(3);
        assert!(log.append([(3, p.as_slice())]).is_err(), "a repeat");
        let (a, b) = (payload(4), payload(6));
        assert!(log.append([(4, a.as_slice()), (6, b.as_slice())]).is_err(), "a gap inside a batch");
        assert_eq!(log.last(), Some(3), "a refused batch leaves the log as it was");
        assert_eq!(read(&log, 1, 9, 9), vec![1, 2, 3]);
    }

    /// A crash between writing events and their index, or in the middle of
    /// an event, leaves a tail that open cuts off; a cut drops later
    /// segments whole.
    #[test]
    fn open_cuts_torn_tails_and_truncate_drops_what_follows() {
        let (dir, log) = fresh(1 << 20);
        append(&log, 1..=10);
        log.sync().unwrap();
        drop(log);
        let log_path = dir.path().join(format!("{:020}.log", 1));
        let idx_path = dir.path().join(format!("{:020}.idx", 1));
        // The index lists event 10, but the log lost its last bytes.
        let len = std::fs::metadata(&log_path).unwrap().len();
        OpenOptions::new().write(true).open(&log_path).unwrap().set_len(len - 3).unwrap();
        let log = EventLog::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(log.last(), Some(9));
        append(&log, 10..=12);
        log.sync().unwrap();
        drop(log);
        // The log holds events the index does not list yet.
        let idx_len = std::fs::metadata(&idx_path).unwrap().len();
        OpenOptions::new().write(true).open(&idx_path).unwrap().set_len(idx_len - 8).unwrap();
        let log = EventLog::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(log.last(), Some(10));
        assert_eq!(read(&log, 1, 20, 20), (1..=10).collect::<Vec<_>>());
        drop(log);

        let log = EventLog::open(dir.path(), 200).unwrap();
        for n in 11..=40 {
            append(&log, n..=n);
        }
        let before = segment_files(dir.path()).len();
        log.truncate_after(12).unwrap();
        assert_eq!(log.last(), Some(12));
        assert!(segment_files(dir.path()).len() < before);
        append(&log, 13..=14);
        assert_eq!(read(&log, 1, 40, 40), (1..=14).collect::<Vec<_>>());
        log.truncate_after(0).unwrap();
        assert_eq!((log.first(), log.last()), (None, None));
        assert!(segment_files(dir.path()).is_empty());
    }

    /// A corrupted byte inside a held event is reported, not returned.
    #[test]
    fn a_corrupt_event_is_an_error() {
        let (dir, log) = fresh(1 << 20);
        append(&log, 1..=3);
        let file = OpenOptions::new().write(true).open(dir.path().join(format!("{:020}.log", 1))).unwrap();
        file.write_all_at(b"#", (HEADER + 2) as u64).unwrap();
        let err = log.read(1, 3, 3, |_, _| Ok(true)).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { tree: "events", .. }), "{err}");
    }

    /// Retention removes whole segments below the floor, never the newest.
    #[test]
    fn remove_before_takes_whole_old_segments() {
        let (dir, log) = fresh(200);
        for n in (1..=40).step_by(2) {
            append(&log, n..=n + 1);
        }
        let files = segment_files(dir.path()).len();
        assert!(files > 3);
        assert_eq!(log.remove_before(1).unwrap(), 0);
        let removed = log.remove_before(20).unwrap();
        assert!(removed >= 1);
        assert_eq!(segment_files(dir.path()).len(), files - removed);
        let first = log.first().unwrap();
        assert!(first > 1 && first <= 20, "{first}");
        assert_eq!(read(&log, first, 40, 100), (first..=40).collect::<Vec<_>>());
        assert_eq!(log.remove_before(u64::MAX).unwrap(), files - removed - 1, "the newest segment stays");
        assert_eq!(log.last(), Some(40));
        log.sync().unwrap();
        drop(log);
        let log = EventLog::open(dir.path(), 200).unwrap();
        assert_eq!(log.last(), Some(40));
    }

    /// Offsets reach the index at a sync: a reopen without one keeps the
    /// synced events, and drops the segments begun since (their events come
    /// again from the write-ahead log).
    #[test]
    fn open_keeps_what_the_last_sync_indexed() {
        let (dir, log) = fresh(200);
        for n in (1..=10).step_by(2) {
            append(&log, n..=n + 1);
        }
        log.sync().unwrap();
        let synced = segment_files(dir.path());
        for n in (11..=30).step_by(2) {
            append(&log, n..=n + 1);
        }
        assert!(segment_files(dir.path()).len() > synced.len());
        drop(log);
        let log = EventLog::open(dir.path(), 200).unwrap();
        assert_eq!(log.last(), Some(10));
        assert_eq!(segment_files(dir.path()), synced, "the segments begun after the sync are gone");
        assert_eq!(read(&log, 1, 30, 30), (1..=10).collect::<Vec<_>>());
        append(&log, 11..=12);
        assert_eq!(read(&log, 9, 30, 30), vec![9, 10, 11, 12]);
    }
}
