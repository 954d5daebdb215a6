//! The spool seen by an operator: which files a directory holds, and one file opened on its
//! own (never created, never moved aside) to be read, exported or replayed.
//!
//! Opening a file takes its lock, as a logger does: while an operator reads or replays it, a
//! logger starting in the same directory spools to a file of its own. A file another process
//! holds is reported as in use, never touched.

use super::file::{self, Damage, CACHE_BYTES};
use super::{SpoolError, SpoolResult, ENGINE_PANICKED, EVENTS};
use crate::message::Envelope;
use redb::{Database, DatabaseError, ReadableTableMetadata};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// A file of a spool directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolFileEntry {
  pub name: String,
  pub bytes: u64,
  /// A file a logger moved aside as damaged (`<name>.corrupt-<ms>`): kept for inspection,
  /// never read.
  pub moved_aside: bool,
}

/// The spool files of `dir` (`spool.redb`, `spool-*.redb`), then the files moved aside, each
/// sorted by name. A missing directory holds none.
pub fn spool_dir_files(dir: &Path) -> Vec<SpoolFileEntry> {
  let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
  let mut entries: Vec<SpoolFileEntry> = file::spool_files(dir)
    .into_iter()
    .map(|name| SpoolFileEntry {
      bytes: size(&name),
      name,
      moved_aside: false,
    })
    .collect();
  let mut aside: Vec<String> = std::fs::read_dir(dir)
    .map(|entries| {
      entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("spool") && name.contains(".redb.corrupt-"))
        .collect()
    })
    .unwrap_or_default();
  aside.sort();
  entries.extend(aside.into_iter().map(|name| SpoolFileEntry {
    bytes: size(&name),
    name,
    moved_aside: true,
  }));
  entries
}

/// Why a spool file could not be opened.
#[derive(Debug)]
pub enum OpenFailure {
  /// A logger (of this process or another) holds it.
  Locked,
  /// It cannot be read as a spool: why.
  Damaged(String),
  /// It vanished or could not be opened (permissions, ...).
  Failed(SpoolError),
}

/// One record of a spool file: its key and the envelope, or `None` when it cannot be decoded.
pub type SpoolRecord = (u64, Option<Envelope>);

/// A spool file opened by an operator's command, holding its lock until dropped.
pub struct SpoolFileHandle {
  db: Option<Database>,
  pub name: String,
}

impl SpoolFileHandle {
  /// Opens the existing file `name` of `dir` (never creates one, never repairs by moving it
  /// aside). A damaged file, or a panic of the storage engine on it, is [`OpenFailure::Damaged`].
  pub fn open(dir: &Path, name: &str) -> Result<SpoolFileHandle, OpenFailure> {
    let path = dir.join(name);
    if let Err(e) = std::fs::metadata(&path) {
      return Err(OpenFailure::Failed(e.into()));
    }
    let opened = catch_unwind(AssertUnwindSafe(|| -> SpoolResult<Option<Database>> {
      let db = match Database::builder().set_cache_size(CACHE_BYTES).open(&path) {
        Ok(db) => db,
        Err(DatabaseError::DatabaseAlreadyOpen) => return Ok(None),
        Err(other) => return Err(other.into()),
      };
      // The table is created by the logger on open; a file without one holds no events.
      let txn = db.begin_write()?;
      txn.open_table(EVENTS)?;
      txn.commit()?;
      Ok(Some(db))
    }));
    match opened {
      Ok(Ok(Some(db))) => Ok(SpoolFileHandle {
        db: Some(db),
        name: name.to_string(),
      }),
      Ok(Ok(None)) => Err(OpenFailure::Locked),
      Ok(Err(error)) if Damage::of(&error) => Err(OpenFailure::Damaged(error.to_string())),
      Ok(Err(error)) => Err(OpenFailure::Failed(error)),
      Err(_) => Err(OpenFailure::Damaged(ENGINE_PANICKED.into())),
    }
  }

  fn guarded<T>(&self, f: impl FnOnce(&Database) -> SpoolResult<T>) -> SpoolResult<T> {
    let db = self.db.as_ref().expect("open until dropped");
    catch_unwind(AssertUnwindSafe(|| f(db))).unwrap_or_else(|_| Err(SpoolError::engine_panicked()))
  }

  /// How many records the file holds.
  pub fn count(&self) -> SpoolResult<u64> {
    self.guarded(|db| Ok(db.begin_read()?.open_table(EVENTS)?.len()?))
  }

  /// Up to `limit` records with a key above `after`, oldest first. Records that cannot be
  /// decoded come back as `None` and stay in the file.
  pub fn read_after(&self, after: Option<u64>, limit: usize) -> SpoolResult<Vec<SpoolRecord>> {
    self.guarded(|db| {
      let txn = db.begin_read()?;
      let table = txn.open_table(EVENTS)?;
      let range = match after {
        Some(key) if key == u64::MAX => return Ok(Vec::new()),
        Some(key) => table.range(key + 1..)?,
        None => table.range(0..)?,
      };
      let mut records = Vec::new();
      for item in range.take(limit) {
        let (key, value) = item?;
        let envelope = serde_json::from_slice::<Envelope>(value.value()).ok();
        records.push((key.value(), envelope));
      }
      Ok(records)
    })
  }

  /// Every record, oldest first, `size` at a time; ends after the first read that fails.
  pub fn chunks(&self, size: usize) -> impl Iterator<Item = SpoolResult<Vec<SpoolRecord>>> + '_ {
    let mut after = None;
    let mut done = false;
    std::iter::from_fn(move || {
      if done {
        return None;
      }
      let read = self.read_after(after, size);
      match &read {
        Ok(records) => match records.last() {
          Some((key, _)) => after = Some(*key),
          None => return None,
        },
        Err(_) => done = true,
      }
      Some(read)
    })
  }

  /// Removes records (those delivered), durably.
  pub fn remove(&self, keys: &[u64]) -> SpoolResult<()> {
    if keys.is_empty() {
      return Ok(());
    }
    self.guarded(|db| {
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
}

impl Drop for SpoolFileHandle {
  fn drop(&mut self) {
    // A damaged database may panic on the way out, which must not spread.
    if let Some(db) = self.db.take() {
      let _ = catch_unwind(AssertUnwindSafe(move || drop(db)));
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::storage::spool::tests::envelope;
  use crate::storage::Spool;

  #[test]
  fn reads_a_file_a_logger_left_and_refuses_one_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    assert!(spool_dir_files(dir).is_empty());
    let spool = Spool::new(dir);
    spool
      .append([(1, &envelope(1)), (2, &envelope(2))])
      .unwrap();
    spool.insert_raw(3, b"not json").unwrap();
    assert!(matches!(
      SpoolFileHandle::open(dir, Spool::FILE_NAME),
      Err(OpenFailure::Locked)
    ));
    spool.release();
    let files = spool_dir_files(dir);
    assert_eq!(files.len(), 1);
    assert!(files[0].bytes > 0 && !files[0].moved_aside);
    let handle = SpoolFileHandle::open(dir, Spool::FILE_NAME).unwrap();
    assert_eq!(handle.count().unwrap(), 3);
    let records = handle.read_after(None, 10).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].1.as_ref(), Some(&envelope(1)));
    assert_eq!(records[2], (3, None));
    assert_eq!(handle.read_after(Some(1), 1).unwrap()[0].0, 2);
    handle.remove(&[1]).unwrap();
    assert_eq!(handle.count().unwrap(), 2);
  }

  #[test]
  fn a_damaged_file_is_reported_and_left_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(Spool::FILE_NAME), b"garbage, not a database").unwrap();
    std::fs::write(dir.join("spool.redb.corrupt-1"), b"old").unwrap();
    assert!(matches!(
      SpoolFileHandle::open(dir, Spool::FILE_NAME),
      Err(OpenFailure::Damaged(_))
    ));
    assert!(dir.join(Spool::FILE_NAME).exists());
    let files = spool_dir_files(dir);
    assert_eq!(files.len(), 2);
    assert!(files[1].moved_aside && files[1].name == "spool.redb.corrupt-1");
  }
}
