use super::private_file;
use crate::message::Envelope;
use parking_lot::Mutex;
use redb::{Database, DatabaseError, ReadableTable, ReadableTableMetadata, TableDefinition};
use std::fmt;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

/// Key: the event's acceptance sequence number, so replay is oldest first per group even
/// when events are spooled out of order. Value: the envelope as JSON.
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");

/// redb's page cache. Its default (1 GiB) would let a long outage grow the process by the
/// spool's size; the spool is written once and read once, in key order, so a small cache
/// costs little.
const CACHE_BYTES: usize = 8 << 20;

/// On-disk queue of events not yet acknowledged by SNS, replayed oldest first.
/// The database file is created on first use only.
pub struct Spool {
  dir: PathBuf,
  /// `Err(())` once released: the file is closed for good (its lock freed for a new logger).
  db: Mutex<Result<Option<Database>, ()>>,
  /// Set when the file had to be replaced (unreadable) or another one was used (locked).
  pub notices: Mutex<Vec<String>>,
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
  /// The directory or the file could not be created or opened.
  Io(std::io::Error),
  /// The database refused an operation (boxed: redb's error is large, the happy path small).
  Database(Box<redb::Error>),
}

impl fmt::Display for SpoolError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      SpoolError::NotConfigured => f.write_str("no spool directory is configured"),
      SpoolError::Closed => f.write_str("spool: closed"),
      SpoolError::Io(e) => write!(f, "spool: {e}"),
      SpoolError::Database(e) => write!(f, "spool: {e}"),
    }
  }
}

impl std::error::Error for SpoolError {}

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
  pub const FILE_NAME: &'static str = "spool.redb";

  pub fn new(dir: &Path) -> Spool {
    Spool {
      dir: dir.to_path_buf(),
      db: Mutex::new(Ok(None)),
      notices: Mutex::default(),
    }
  }

  /// Whether a spool file from an earlier run exists (then it is opened for replay).
  pub fn exists(&self) -> bool {
    self.dir.join(Self::FILE_NAME).exists()
  }

  fn with_db<T>(&self, f: impl FnOnce(&Database) -> SpoolResult<T>) -> SpoolResult<T> {
    let mut db = self.db.lock();
    let Ok(db) = &mut *db else {
      return Err(SpoolError::Closed);
    };
    if db.is_none() {
      *db = Some(self.open()?);
    }
    f(db.as_ref().expect("opened above"))
  }

  /// Closes the file for good, so another logger (or process) can open it.
  pub fn release(&self) {
    *self.db.lock() = Err(());
  }

  fn open_file(&self, name: &str) -> Result<Database, DatabaseError> {
    let file = private_file(
      &self.dir,
      name,
      OpenOptions::new().read(true).write(true).create(true),
    )
    .map_err(|e| DatabaseError::Storage(e.into()))?;
    Database::builder()
      .set_cache_size(CACHE_BYTES)
      .create_file(file)
  }

  /// Opens the spool; a corrupt file is moved aside, a file locked by another process makes
  /// this one use a file of its own.
  fn open(&self) -> SpoolResult<Database> {
    let mut notices = self.notices.lock();
    let db = match self.open_file(Self::FILE_NAME) {
      Ok(db) => db,
      Err(DatabaseError::DatabaseAlreadyOpen) => {
        let name = format!("spool-{}.redb", std::process::id());
        notices.push(format!(
          "{} is in use by another logger; spooling to {name}",
          Self::FILE_NAME
        ));
        self.open_file(&name)?
      }
      Err(e) => {
        let aside = format!(
          "{}.corrupt-{}",
          Self::FILE_NAME,
          chrono::Utc::now().timestamp_millis()
        );
        notices.push(format!(
          "{} could not be read ({e}); moved to {aside} and started a new spool",
          Self::FILE_NAME
        ));
        std::fs::rename(self.dir.join(Self::FILE_NAME), self.dir.join(&aside))?;
        self.open_file(Self::FILE_NAME)?
      }
    };
    let txn = db.begin_write()?;
    txn.open_table(EVENTS)?;
    txn.commit()?;
    Ok(db)
  }

  /// Stores events under their sequence numbers, durably (one fsync per call).
  pub fn append<'a>(
    &self,
    events: impl IntoIterator<Item = (u64, &'a Envelope)>,
  ) -> SpoolResult<()> {
    self.with_db(|db| {
      let txn = db.begin_write()?;
      {
        let mut table = txn.open_table(EVENTS)?;
        for (seq, envelope) in events {
          let bytes = serde_json::to_vec(envelope).expect("an envelope always serializes");
          table.insert(seq, bytes.as_slice())?;
        }
      }
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
    self.with_db(|db| {
      let txn = db.begin_write()?;
      {
        let mut table = txn.open_table(EVENTS)?;
        for key in keys {
          table.remove(key)?;
        }
      }
      Ok(txn.commit()?)
    })
  }

  pub fn count(&self) -> SpoolResult<u64> {
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

#[cfg(test)]
mod tests {
  use super::*;
  use std::os::unix::fs::PermissionsExt;

  fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sns-logger-spool-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
  }

  fn envelope(n: u64) -> Envelope {
    Envelope {
      topic_arn: "arn:aws:sns:us-east-1:1:t.fifo".into(),
      group_id: "g".into(),
      dedup_id: format!("d{n}"),
      message: format!("{{\"n\":{n}}}"),
    }
  }

  #[test]
  fn appends_reads_oldest_first_and_removes() {
    let dir = temp_dir("order");
    let spool = Spool::new(&dir);
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
    let again = Spool::new(&dir);
    assert!(again.exists());
    assert_eq!(again.read_after(None, 10).unwrap().events[0].1, envelope(9));
    std::fs::remove_dir_all(dir).unwrap();
  }

  #[test]
  fn corrupt_records_are_skipped_and_a_corrupt_file_is_replaced() {
    let dir = temp_dir("corrupt");
    let spool = Spool::new(&dir);
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
    let spool = Spool::new(&dir);
    assert_eq!(spool.count().unwrap(), 0);
    assert!(spool.notices.lock()[0].contains("moved to"));
    std::fs::remove_dir_all(dir).unwrap();
  }
}
