mod adopt;
mod file;
mod inspect;

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
/// The most bytes [`Spool::probe`] writes.
const MAX_PROBE_BYTES: usize = 4 << 20;

/// On-disk queue of events not yet acknowledged by SNS, replayed oldest first.
///
/// Several loggers (of one process or several) may share a directory: each owns one file,
/// locked while open (`spool.redb`, or `spool-<pid>-<n>.redb` when that one is taken), and
/// adopts the files whose owner is gone ([`Spool::adopt_orphans`]). A damaged file is moved
/// aside (`<name>.corrupt-<ms>`) and a new one started; a failed operation closes the file,
/// and the next one reopens it (redb repairs it then), so a full disk stops the spool only
/// until space returns.
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
  redb::CommitError
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
    Spool::for_logger(dir, true, u64::MAX)
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
  fn with_db<T>(&self, f: impl FnOnce(&Database) -> SpoolResult<T>) -> SpoolResult<T> {
    let mut state = self.state.lock();
    if let State::Closed(name) = &*state {
      let opened = file::open(
        &self.dir,
        name.as_deref(),
        self.found_files,
        self.sync,
        &mut self.notices.lock(),
      )?;
      let stored = catch_unwind(AssertUnwindSafe(|| stored_bytes(&opened.db)));
      self.stored_bytes.store(stored.unwrap_or(Ok(0))?, Relaxed);
      *state = State::Open(opened);
    }
    let State::Open(opened) = &*state else {
      return Err(SpoolError::Closed);
    };
    let name = opened.name.clone();
    let result = match catch_unwind(AssertUnwindSafe(|| f(&opened.db))) {
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
    if let State::Open(opened) = state {
      file::release(&self.dir, opened);
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
    self.with_db(|db| {
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
    })
  }

  /// Whether the spool can take a write of `bytes` now: writes a record of that size (at
  /// least 1 KiB, at most 4 MiB) in one commit, then deletes it in another. A record deleted
  /// in the transaction that wrote it never reaches the file, so such a probe passes on a full
  /// disk. One record, not one per event: the events' records go into a large tree whose
  /// touched pages a commit rewrites, and many small records in the probe's own small tree
  /// fitted where the events did not; one value of their whole size needs a region of pages
  /// of its own, and fits only where they would.
  pub fn probe(&self, bytes: usize) -> SpoolResult<()> {
    let record = vec![0u8; bytes.clamp(1024, MAX_PROBE_BYTES)];
    self.with_db(|db| {
      let txn = db.begin_write()?;
      txn.open_table(PROBES)?.insert(0, record.as_slice())?;
      txn.commit()?;
      let txn = db.begin_write()?;
      txn.open_table(PROBES)?.remove(0)?;
      Ok(txn.commit()?)
    })
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
    let stored = self.with_db(stored_bytes)?;
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
