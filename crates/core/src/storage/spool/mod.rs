mod adopt;
mod file;
mod inspect;
mod reserve;

pub use inspect::{spool_dir_files, OpenFailure, SpoolFileEntry, SpoolFileHandle, SpoolRecord};

use crate::message::Envelope;
use file::{Damage, Opened};
use parking_lot::Mutex;
use redb::{Database, DatabaseError, ReadableTable, ReadableTableMetadata, TableDefinition};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Key: the event's acceptance sequence number, so replay is oldest first per group even
/// when events are spooled out of order. Value: the envelope as JSON.
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// Where [`Spool::probe`] writes; never read as events.
const PROBES: TableDefinition<u64, &[u8]> = TableDefinition::new("probe");
/// The most bytes, and records, [`Spool::probe`] writes.
const MAX_PROBE_BYTES: usize = 4 << 20;
const MAX_PROBE_RECORDS: usize = 10_000;

/// The last write that failed, kept until [`Spool::probe`] finds that one like it fits again.
#[derive(Clone, Copy)]
struct FailedWrite {
  records: usize,
  /// Its records' bytes, as stored.
  bytes: u64,
  /// The events' bytes the spool held when it failed: what was deleted since is room made.
  stored_then: u64,
  /// Whether the disk (or the quota) was full.
  disk_full: bool,
}

impl FailedWrite {
  /// What a probe writes when no write failed (the file could not be opened): one small record.
  const NONE: FailedWrite = FailedWrite {
    records: 1,
    bytes: 1024,
    stored_then: 0,
    disk_full: false,
  };
}

/// On-disk queue of events not yet acknowledged by SNS, replayed oldest first.
///
/// Several loggers (of one process or several) may share a directory: each owns one file,
/// locked while open (`spool.redb`, or `spool-<pid>-<n>.redb` when that one is taken), and
/// adopts the files whose owner is gone ([`Spool::adopt_orphans`]). A damaged file is moved
/// aside (`<name>.corrupt-<ms>`) and a new one started; a failed operation closes the file,
/// and the next one reopens it (redb repairs it then), so a full disk stops the spool only
/// until space returns. A logger's spool keeps room on its disk for deleting sent events
/// ([`reserve`]), given back when the disk is full.
pub struct Spool {
  dir: PathBuf,
  /// Whether the directory held spool files when this spool was made: only then may it take
  /// `spool.redb` with events in it as its own (its logger read its last key at start). A file
  /// that filled later is another logger's, and its keys would collide with this one's.
  found_files: bool,
  /// Whether each commit waits for stable storage (`fsync: commit`).
  sync: bool,
  /// Bytes of events (keys and values) in this spool's own file, once opened.
  stored_bytes: AtomicU64,
  /// An append that would pass this many stored bytes is refused ([`SpoolError::Full`]).
  max_bytes: u64,
  /// Whether it keeps room on its disk (a logger's spool; not the operators' commands).
  keeps_reserve: bool,
  failed_write: Mutex<Option<FailedWrite>>,
  state: Mutex<State>,
  /// Things worth telling the host about the files: moved aside, another file used, adopted.
  pub notices: Mutex<Vec<String>>,
}

enum State {
  /// Not open; the name is the file this spool owns, once chosen.
  Closed(Option<String>),
  Open(Opened),
  /// Released by close(): never opened again.
  Released,
}

/// A chunk read from the spool.
#[derive(Default)]
pub struct SpoolRead {
  pub events: Vec<(u64, Envelope)>,
  /// Records that could not be decoded; they were removed.
  pub corrupt: u64,
}

/// Why the spool could not do what was asked.
#[derive(Debug)]
pub enum SpoolError {
  /// The logger has no spool directory (file and memory sinks without `spoolDir`).
  NotConfigured,
  /// The logger closed and released the file.
  Closed,
  /// The file was damaged: it was moved aside (named here) and a new one will be started.
  Damaged { file: String, moved_to: String },
  /// The directory or the file could not be created or opened.
  Io(std::io::Error),
  /// The database refused an operation (boxed: redb's error is large, the happy path small).
  Database(Box<redb::Error>),
  /// The events would pass the spool's size cap (`maxSpoolBytes`).
  Full { max_bytes: u64 },
}

impl fmt::Display for SpoolError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      SpoolError::NotConfigured => f.write_str("no spool directory is configured"),
      SpoolError::Closed => f.write_str("spool: closed"),
      SpoolError::Damaged { file, moved_to } => write!(
        f,
        "spool: {file} was damaged; moved to {moved_to}, a new spool file is started"
      ),
      SpoolError::Io(e) => write!(f, "spool: {e}"),
      SpoolError::Database(e) => write!(f, "spool: {e}"),
      SpoolError::Full { max_bytes } => write!(
        f,
        "spool: full (it holds as many events as maxSpoolBytes allows, {max_bytes} bytes)"
      ),
    }
  }
}

impl std::error::Error for SpoolError {}

impl SpoolError {
  /// Whether the disk (or the user's quota) is full.
  pub fn is_disk_full(&self) -> bool {
    match self {
      SpoolError::Io(error) => reserve::is_disk_full(error),
      SpoolError::Database(error) => match &**error {
        redb::Error::Io(error) => reserve::is_disk_full(error),
        _ => false,
      },
      _ => false,
    }
  }

  /// The disk (still) has no room for a write: refused without trying it.
  pub(crate) fn disk_full() -> SpoolError {
    SpoolError::Io(std::io::ErrorKind::StorageFull.into())
  }

  /// redb panicked on the file: it is damaged.
  fn engine_panicked() -> SpoolError {
    SpoolError::Database(Box::new(redb::Error::Corrupted(ENGINE_PANICKED.into())))
  }
}

/// Why a file is taken for damaged when the storage engine panicked on it.
const ENGINE_PANICKED: &str = "the storage engine failed on it";

macro_rules! from_redb {
  ($($error:ty),*) => {$(
    impl From<$error> for SpoolError {
      fn from(e: $error) -> Self {
        SpoolError::Database(Box::new(e.into()))
      }
    }
  )*};
}
from_redb!(
  DatabaseError,
  redb::TransactionError,
  redb::TableError,
  redb::StorageError,
  redb::CommitError,
  redb::CompactionError
);

impl From<std::io::Error> for SpoolError {
  fn from(e: std::io::Error) -> Self {
    SpoolError::Io(e)
  }
}

type SpoolResult<T> = Result<T, SpoolError>;

impl Spool {
  /// The file of the first logger in a directory.
  pub const FILE_NAME: &'static str = "spool.redb";

  /// A spool whose commits wait for stable storage (the operators' commands).
  pub fn new(dir: &Path) -> Spool {
    Spool {
      keeps_reserve: false,
      ..Spool::for_logger(dir, true, u64::MAX)
    }
  }

  /// `sync`: whether each commit waits for stable storage; without it a commit is written to
  /// the file (a crash of the process loses nothing) and the OS flushes it later.
  /// `max_bytes`: the most events' bytes the file may hold.
  pub fn for_logger(dir: &Path, sync: bool, max_bytes: u64) -> Spool {
    Spool {
      dir: dir.to_path_buf(),
      found_files: !file::spool_files(dir).is_empty(),
      sync,
      stored_bytes: AtomicU64::new(0),
      max_bytes,
      keeps_reserve: true,
      failed_write: Mutex::new(None),
      state: Mutex::new(State::Closed(None)),
      notices: Mutex::default(),
    }
  }

  pub fn dir(&self) -> &Path {
    &self.dir
  }

  /// Bytes of events this spool's file holds (keys and stored values); 0 before it is opened.
  pub fn stored_bytes(&self) -> u64 {
    self.stored_bytes.load(Relaxed)
  }

  /// Opens (or creates) this spool's file now, so that a directory that cannot be used is
  /// known at start rather than at the first write.
  pub fn open_now(&self) -> SpoolResult<()> {
    self.with_db(|_| Ok(()))
  }

  /// Whether the directory holds spool files from an earlier run (or another logger).
  pub fn exists(&self) -> bool {
    !file::spool_files(&self.dir).is_empty()
  }

  /// Runs `f` on the open database, opening it first. A failed operation closes the file (the
  /// next one reopens and repairs it); a panic inside the storage engine means a damaged file:
  /// it is moved aside.
  fn with_db<T>(&self, f: impl FnOnce(&mut Database) -> SpoolResult<T>) -> SpoolResult<T> {
    let mut state = self.state.lock();
    if let State::Closed(name) = &*state {
      let first_open = name.is_none();
      let opened = file::open(
        &self.dir,
        name.as_deref(),
        self.found_files,
        self.sync,
        &mut self.notices.lock(),
      )?;
      let stored = catch_unwind(AssertUnwindSafe(|| stored_bytes(&opened.db)));
      self.stored_bytes.store(stored.unwrap_or(Ok(0))?, Relaxed);
      if first_open && self.keeps_reserve {
        // Best effort: on a disk already full, the first probe makes it.
        let _ = reserve::keep(&self.dir, &opened.name);
      }
      *state = State::Open(opened);
    }
    let State::Open(opened) = &mut *state else {
      return Err(SpoolError::Closed);
    };
    let name = opened.name.clone();
    let result = match catch_unwind(AssertUnwindSafe(|| f(&mut opened.db))) {
      Ok(Ok(value)) => return Ok(value),
      Ok(Err(error)) => error,
      Err(_) => SpoolError::engine_panicked(),
    };
    let State::Open(opened) = std::mem::replace(&mut *state, State::Closed(Some(name.clone())))
    else {
      unreachable!("checked above")
    };
    file::close_quietly(opened);
    if Damage::of(&result) {
      let moved_to = file::move_aside(&self.dir, &name)?;
      self.notices.lock().push(format!(
        "{name} was damaged ({result}); moved to {moved_to} and started a new spool file"
      ));
      return Err(SpoolError::Damaged {
        file: name,
        moved_to,
      });
    }
    Err(result)
  }

  /// Closes the file for good, so another logger (or process) can open it; a file of its own
  /// beside `spool.redb` is deleted when empty.
  pub fn release(&self) {
    let state = std::mem::replace(&mut *self.state.lock(), State::Released);
    let name = match state {
      State::Open(opened) => {
        let name = opened.name.clone();
        file::release(&self.dir, opened);
        Some(name)
      }
      State::Closed(name) => name,
      State::Released => None,
    };
    if let Some(name) = name {
      reserve::give_back(&self.dir, &name);
    }
  }

  /// Stores events under their sequence numbers in one commit (flushed to stable storage
  /// when the spool syncs). Refused whole when they would pass the size cap.
  pub fn append<'a>(
    &self,
    events: impl IntoIterator<Item = (u64, &'a Envelope)>,
  ) -> SpoolResult<()> {
    self.commit(events, &[])
  }

  /// Stores events and deletes keys in one commit: the write-ahead log's writer is the only
  /// one to write its file, so deletions never make a write wait. The events are refused
  /// (nothing of the commit done) when they would pass the size cap.
  pub fn commit<'a>(
    &self,
    events: impl IntoIterator<Item = (u64, &'a Envelope)>,
    remove: &[u64],
  ) -> SpoolResult<()> {
    let records: Vec<(u64, Vec<u8>)> = events
      .into_iter()
      .map(|(seq, envelope)| {
        let bytes = serde_json::to_vec(envelope).expect("an envelope always serializes");
        (seq, bytes)
      })
      .collect();
    let adding: u64 = records.iter().map(|(_, r)| record_bytes(r.len())).sum();
    if adding > 0 && self.stored_bytes().saturating_add(adding) > self.max_bytes {
      return Err(SpoolError::Full {
        max_bytes: self.max_bytes,
      });
    }
    let written = self.with_db(|db| {
      let txn = db.begin_write()?;
      let mut added = adding;
      let mut removed = 0;
      {
        let mut table = txn.open_table(EVENTS)?;
        for (seq, record) in &records {
          if let Some(old) = table.insert(seq, record.as_slice())? {
            added -= record_bytes(old.value().len());
          }
        }
        // In key order, the deletions walk the tree's leaves once instead of jumping between
        // them (sent events come back in the order their groups' batches completed).
        let mut sorted;
        let remove = if remove.is_sorted() {
          remove
        } else {
          sorted = remove.to_vec();
          sorted.sort_unstable();
          &sorted
        };
        for key in remove {
          if let Some(old) = table.remove(key)? {
            removed += record_bytes(old.value().len());
          }
        }
      }
      txn.commit()?;
      self.stored_bytes.fetch_add(added, Relaxed);
      let _ = self
        .stored_bytes
        .fetch_update(Relaxed, Relaxed, |n| Some(n.saturating_sub(removed)));
      Ok(())
    });
    if !records.is_empty() {
      self.wrote(&written, records.len(), adding);
    }
    written
  }

  /// Whether the last write found the disk full and no probe has found room since: a write
  /// now would take the room given back for deleting sent events ([`reserve`]).
  pub fn waits_for_room(&self) -> bool {
    self
      .failed_write
      .lock()
      .is_some_and(|failed| failed.disk_full)
  }

  /// Remembers a write that failed (and gives the reserve back when the disk is full, so
  /// that sent events can still be deleted); forgets it once one succeeds.
  fn wrote(&self, written: &SpoolResult<()>, records: usize, bytes: u64) {
    let Err(error) = written else {
      *self.failed_write.lock() = None;
      return;
    };
    let disk_full = error.is_disk_full();
    if disk_full {
      self.give_back_reserve();
    }
    *self.failed_write.lock() = Some(FailedWrite {
      records,
      bytes,
      stored_then: self.stored_bytes(),
      disk_full,
    });
  }

  /// Whether a write like the last one that failed would succeed now; passes only when it
  /// would (run while the spool is failing).
  ///
  /// After a full disk: only once room was made for twice that write (the events' bytes
  /// deleted since, and the disk's free bytes) and the reserve is back; a disk as it filled
  /// still takes small writes that a batch of events does not find room for (a probe that
  /// wrote one record of the batch's size passed there while batches kept failing). Then
  /// records of the same size, a quarter more than it had, are written in one commit and
  /// deleted in another.
  pub fn probe(&self) -> SpoolResult<()> {
    let failed = (*self.failed_write.lock()).unwrap_or(FailedWrite::NONE);
    if failed.disk_full {
      let reserve_missing = self.keeps_reserve && !self.reserve_is_kept();
      let deleted = failed.stored_then.saturating_sub(self.stored_bytes());
      let needed = 2 * failed.bytes
        + if reserve_missing {
          reserve::RESERVE_BYTES
        } else {
          0
        };
      if deleted.saturating_add(reserve::available_bytes(&self.dir)?) < needed {
        return Err(SpoolError::disk_full());
      }
    }
    let probed = self.reserve_and_write_like(failed);
    match &probed {
      Ok(()) => *self.failed_write.lock() = None,
      Err(error) if error.is_disk_full() => self.give_back_reserve(),
      Err(_) => {}
    }
    probed
  }

  /// The reserve made again, then a write like `failed` committed and deleted.
  fn reserve_and_write_like(&self, failed: FailedWrite) -> SpoolResult<()> {
    self.with_db(|db| settle(db))?;
    if self.keeps_reserve {
      self.restore_room()?;
    }
    let records = failed.records.clamp(1, MAX_PROBE_RECORDS);
    let record = vec![0u8; (failed.bytes as usize / records).clamp(1, MAX_PROBE_BYTES / records)];
    // The events go into a large tree, whose path to its last leaf a commit also rewrites.
    let records = records + records / 4 + 4;
    self.with_db(|db| {
      let keys = 0..records as u64;
      let txn = db.begin_write()?;
      {
        let mut table = txn.open_table(PROBES)?;
        for key in keys.clone() {
          table.insert(key, record.as_slice())?;
        }
      }
      txn.commit()?;
      let txn = db.begin_write()?;
      {
        let mut table = txn.open_table(PROBES)?;
        for key in keys {
          table.remove(key)?;
        }
      }
      txn.commit()?;
      settle(db)
    })
  }

  fn give_back_reserve(&self) {
    if let Some(name) = self.own_name() {
      reserve::give_back(&self.dir, &name);
    }
  }

  fn reserve_is_kept(&self) -> bool {
    self
      .own_name()
      .is_some_and(|name| reserve::is_kept(&self.dir, &name))
  }

  /// Makes the reserve again, and takes the disk's blocks for every page of the file that has
  /// none (grown while the disk was nearly full). The deletions a full disk allowed took the
  /// reserve's room into the file, which gives back only its free tail: when that is not
  /// enough, the file is compacted first (its pages moved down into the room its deleted
  /// events left, its tail cut).
  fn restore_room(&self) -> SpoolResult<()> {
    let Some(name) = self.own_name() else {
      return Ok(());
    };
    let keep = || -> std::io::Result<()> {
      reserve::keep(&self.dir, &name)?;
      file::fill_holes(&self.dir, &name)
    };
    if keep().is_ok() {
      return Ok(());
    }
    self.with_db(|db| Ok(db.compact()?))?;
    if keep().is_ok() {
      return Ok(());
    }
    // redb gives a file's tail back a little at each commit: an empty spool whose file still
    // holds the disk starts a new file instead (nothing is lost).
    self.start_afresh_if_empty()?;
    Ok(keep()?)
  }

  /// Removes the spool's file when it holds no event; the next operation starts a new one.
  fn start_afresh_if_empty(&self) -> SpoolResult<()> {
    let mut state = self.state.lock();
    let State::Open(opened) = &*state else {
      return Ok(());
    };
    if file::holds_events(&opened.db) {
      return Ok(());
    }
    let name = opened.name.clone();
    if let State::Open(opened) = std::mem::replace(&mut *state, State::Closed(Some(name.clone()))) {
      file::close_quietly(opened);
    }
    Ok(std::fs::remove_file(self.dir.join(name))?)
  }

  /// Up to `limit` events with a key above `after`, oldest first.
  pub fn read_after(&self, after: Option<u64>, limit: usize) -> SpoolResult<SpoolRead> {
    let mut read = SpoolRead::default();
    let mut corrupt_keys = Vec::new();
    self.with_db(|db| {
      let txn = db.begin_read()?;
      let table = txn.open_table(EVENTS)?;
      let range = match after {
        Some(key) => table.range(key + 1..),
        None => table.range(0..),
      }?;
      for item in range.take(limit) {
        let (key, value) = item?;
        match serde_json::from_slice::<Envelope>(value.value()) {
          Ok(envelope) => read.events.push((key.value(), envelope)),
          Err(_) => corrupt_keys.push(key.value()),
        }
      }
      Ok(())
    })?;
    read.corrupt = corrupt_keys.len() as u64;
    if !corrupt_keys.is_empty() {
      self.remove(&corrupt_keys)?;
    }
    Ok(read)
  }

  pub fn remove(&self, keys: &[u64]) -> SpoolResult<()> {
    self.commit(std::iter::empty(), keys)
  }

  /// How many events the spool holds. Never creates a file: none yet holds none.
  pub fn count(&self) -> SpoolResult<u64> {
    if matches!(*self.state.lock(), State::Closed(None)) && !self.exists() {
      return Ok(0);
    }
    self.with_db(|db| {
      let txn = db.begin_read()?;
      Ok(txn.open_table(EVENTS)?.len()?)
    })
  }

  /// The highest sequence number stored, so a new run continues after it.
  pub fn last_key(&self) -> SpoolResult<Option<u64>> {
    self.with_db(|db| {
      let txn = db.begin_read()?;
      let table = txn.open_table(EVENTS)?;
      let last = table.last()?.map(|(k, _)| k.value());
      Ok(last)
    })
  }

  /// Counts the events' bytes again (after adoption moved events in).
  fn recount(&self) -> SpoolResult<()> {
    let stored = self.with_db(|db| stored_bytes(db))?;
    self.stored_bytes.store(stored, Relaxed);
    Ok(())
  }

  /// For tests: writes raw bytes under a key, bypassing encoding.
  #[cfg(test)]
  pub fn insert_raw(&self, key: u64, bytes: &[u8]) -> SpoolResult<()> {
    self.with_db(|db| {
      let txn = db.begin_write()?;
      txn.open_table(EVENTS)?.insert(key, bytes)?;
      Ok(txn.commit()?)
    })
  }
}

/// Two empty commits: pages freed by a commit are taken again only after the next one, and
/// each commit trims the file's free tail.
fn settle(db: &Database) -> SpoolResult<()> {
  db.begin_write()?.commit()?;
  Ok(db.begin_write()?.commit()?)
}

/// What one record adds to the spool's bytes: its key and its value.
fn record_bytes(value_len: usize) -> u64 {
  (value_len + std::mem::size_of::<u64>()) as u64
}

fn stored_bytes(db: &Database) -> SpoolResult<u64> {
  let txn = db.begin_read()?;
  let table = txn.open_table(EVENTS)?;
  Ok(table.stats()?.stored_bytes())
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::os::unix::fs::PermissionsExt;

  pub(super) fn envelope(n: u64) -> Envelope {
    Envelope::whole(
      "arn:aws:sns:us-east-1:1:t.fifo",
      "g",
      &format!("d{n}"),
      &format!("{{\"n\":{n}}}"),
    )
  }

  #[test]
  fn a_spool_never_writes_into_a_file_another_filled_after_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // Both made while the directory is empty: each logger's keys start at 0.
    let first = Spool::new(dir);
    let second = Spool::new(dir);
    second
      .append((0..30).map(|n| (n, &*Box::leak(Box::new(envelope(1000 + n))))))
      .unwrap();
    second.release();
    first
      .append((0..200).map(|n| (n, &*Box::leak(Box::new(envelope(n))))))
      .unwrap();
    first.release();
    // Every event of both, in two files: none overwrote another.
    let files = file::spool_files(dir);
    assert_eq!(files.len(), 2, "{files:?}");
    let reader = Spool::new(dir);
    let mut total = 0;
    for name in files {
      let Ok(handle) = crate::storage::SpoolFileHandle::open(dir, &name) else {
        panic!("{name} is not readable");
      };
      total += handle.count().unwrap();
    }
    assert_eq!(total, 230);
    assert!(reader.exists());
  }

  #[test]
  fn appends_reads_oldest_first_and_removes() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let spool = Spool::new(dir);
    assert!(!spool.exists());
    spool
      .append([(5, &envelope(5)), (2, &envelope(2)), (9, &envelope(9))])
      .unwrap();
    let mode = std::fs::metadata(dir.join(Spool::FILE_NAME))
      .unwrap()
      .permissions()
      .mode();
    assert_eq!(mode & 0o777, 0o600);
    let read = spool.read_after(None, 2).unwrap();
    assert_eq!(
      read.events.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
      [2, 5]
    );
    assert_eq!(read.events[0].1, envelope(2));
    assert_eq!(spool.read_after(Some(5), 10).unwrap().events.len(), 1);
    spool.remove(&[2, 5]).unwrap();
    assert_eq!(spool.count().unwrap(), 1);
    assert_eq!(spool.last_key().unwrap(), Some(9));
    drop(spool);
    // A new run finds what is left.
    let again = Spool::new(dir);
    assert!(again.exists());
    assert_eq!(again.read_after(None, 10).unwrap().events[0].1, envelope(9));
  }

  #[test]
  fn corrupt_records_are_skipped_and_a_corrupt_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let spool = Spool::new(dir);
    spool.append([(1, &envelope(1))]).unwrap();
    spool.insert_raw(2, b"\x00not json").unwrap();
    spool.append([(3, &envelope(3))]).unwrap();
    let read = spool.read_after(None, 10).unwrap();
    assert_eq!(
      read.events.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
      [1, 3]
    );
    assert_eq!(read.corrupt, 1);
    assert_eq!(spool.count().unwrap(), 2);
    drop(spool);

    std::fs::write(
      dir.join(Spool::FILE_NAME),
      b"garbage, not a database at all",
    )
    .unwrap();
    let spool = Spool::new(dir);
    assert_eq!(spool.count().unwrap(), 0);
    assert!(spool.notices.lock()[0].contains("moved to"));
  }
}

/// A spool on a disk it filled, batch after batch, at batch sizes from 5 to 80 events of ~1 KiB.
#[cfg(test)]
mod full_disk_tests {
  use super::*;
  use crate::storage::small_disk::mount_small_disk;

  fn event(n: u64) -> Envelope {
    Envelope::whole(
      "arn:aws:sns:us-east-1:1:t.fifo",
      "g",
      &format!("d{n}"),
      &format!("{{\"n\":\"{n:0>1000}\"}}"),
    )
  }

  /// While nothing is deleted, the probe never says a batch fits (it used to in nearly every
  /// case: a record of the batch's size fitted where the batch did not); sent events can be
  /// deleted (on a disk filled to the last page, deleting failed for good); once they are,
  /// the probe passes, and then a batch fits.
  #[test]
  fn the_probe_passes_only_when_a_batch_fits_and_sent_events_can_always_be_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let _disk = mount_small_disk(dir.path(), 2 << 20);
    for (case, size) in [5u64, 8, 17, 25, 33, 50, 64, 80, 100, 128]
      .into_iter()
      .enumerate()
    {
      let spool_dir = dir.path().join(format!("spool-{case}"));
      let spool = Spool::for_logger(&spool_dir, false, u64::MAX);
      let batch: Vec<Envelope> = (0..size).map(event).collect();
      let next = std::cell::Cell::new(1u64);
      let append = |spool: &Spool| {
        let first = next.get();
        next.set(first + size);
        spool.append((first..).zip(&batch))
      };
      let error = loop {
        if let Err(error) = append(&spool) {
          break error;
        }
      };
      assert!(error.is_disk_full(), "{size} events: {error}");
      let filled = next.get() - 1 - size;
      for probe in 0..5 {
        assert!(
          spool.probe().is_err(),
          "{size} events: probe {probe} passed on the disk the spool filled"
        );
      }
      // SNS is back: sent events are deleted, oldest first, in slices.
      let mut deleted = 0;
      let ready = loop {
        assert!(
          deleted < filled,
          "{size} events: never ready, though every event was deleted"
        );
        let slice: Vec<u64> = (deleted + 1..=(deleted + 64).min(filled)).collect();
        spool
          .remove(&slice)
          .unwrap_or_else(|e| panic!("{size} events: deleting after {deleted}: {e}"));
        deleted += slice.len() as u64;
        if spool.probe().is_ok() {
          break deleted;
        }
      };
      let fsize = |d: &Path| {
        std::fs::read_dir(d)
          .unwrap()
          .map(|e| {
            let e = e.unwrap();
            format!("{:?}={}", e.file_name(), e.metadata().unwrap().len())
          })
          .collect::<Vec<_>>()
      };
      eprintln!(
        "{size}: before append: avail {} files {:?} stored {}",
        reserve::available_bytes(&spool_dir).unwrap(),
        fsize(&spool_dir),
        spool.stored_bytes()
      );
      append(&spool).unwrap_or_else(|e| {
        eprintln!(
          "{size}: after fail: avail {} files {:?}",
          reserve::available_bytes(&spool_dir).unwrap(),
          fsize(&spool_dir)
        );
        panic!("{size} events: the probe passed after {ready} deletions, but a batch failed: {e}")
      });
      spool.release();
      std::fs::remove_dir_all(&spool_dir).unwrap();
    }
  }
}
