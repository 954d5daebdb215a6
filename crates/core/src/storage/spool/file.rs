//! The spool's files: which one a logger owns, opening it (moving a damaged one aside), and
//! letting it go.

use super::{Spool, SpoolError, SpoolResult, ENGINE_PANICKED, EVENTS};
use crate::storage::private_file;
use redb::backends::FileBackend;
use redb::{Database, DatabaseError, ReadableTableMetadata, StorageBackend};
use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// redb's page cache. Its default (1 GiB) would let a long outage grow the process by the
/// spool's size; the spool is written once and read once, in key order, so a small cache
/// costs little.
pub(super) const CACHE_BYTES: usize = 8 << 20;

/// Tries before giving up on finding a file to own (each may be locked or damaged).
const OPEN_ATTEMPTS: usize = 4;

/// An open spool file.
pub(super) struct Opened {
  pub db: Database,
  pub name: String,
}

/// Whether an error means the file is damaged (rather than the disk full or unwritable).
pub(super) struct Damage;

impl Damage {
  pub fn of(error: &SpoolError) -> bool {
    let SpoolError::Database(error) = error else {
      return false;
    };
    match &**error {
      redb::Error::Corrupted(_)
      | redb::Error::UpgradeRequired(_)
      | redb::Error::TableTypeMismatch { .. }
      | redb::Error::TypeDefinitionChanged { .. }
      | redb::Error::TableIsMultimap(_)
      | redb::Error::TableIsNotMultimap(_) => true,
      redb::Error::Io(io) => matches!(io.kind(), ErrorKind::InvalidData | ErrorKind::UnexpectedEof),
      _ => false,
    }
  }
}

/// The spool files in `dir`, sorted: `spool.redb` and `spool-*.redb` (not those moved aside).
pub(super) fn spool_files(dir: &Path) -> Vec<String> {
  let Ok(entries) = std::fs::read_dir(dir) else {
    return Vec::new();
  };
  let mut names: Vec<String> = entries
    .filter_map(|e| e.ok()?.file_name().into_string().ok())
    .filter(|name| {
      name == Spool::FILE_NAME || (name.starts_with("spool-") && name.ends_with(".redb"))
    })
    .collect();
  names.sort();
  names
}

/// Takes the disk's blocks for `len` bytes of `file` from `offset` (growing it past its end);
/// fails when the disk has not so many or the filesystem cannot.
fn fill(file: &std::fs::File, offset: u64, len: u64) -> rustix::io::Result<()> {
  rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), offset, len)
}

/// Takes the disk's blocks for every page of the file that holds none: once it succeeds, a
/// commit that needs no more pages than the file has free cannot fail for the disk.
/// Where the filesystem cannot, there is nothing to fill.
pub(super) fn fill_holes(dir: &Path, name: &str) -> std::io::Result<()> {
  let file = OpenOptions::new().write(true).open(dir.join(name))?;
  let len = file.metadata()?.len();
  match fill(&file, 0, len) {
    Err(rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::NOSYS) => Ok(()),
    filled => Ok(filled?),
  }
}

/// A file name no other logger of this process or another uses.
fn unique_name() -> String {
  static NEXT: AtomicU64 = AtomicU64::new(1);
  format!(
    "spool-{}-{}.redb",
    std::process::id(),
    NEXT.fetch_add(1, Relaxed)
  )
}

/// The file under redb: every commit is written to it before the commit returns (so a crash
/// of the process loses nothing), and flushed to stable storage only when `sync` is set
/// (`fsync: commit`): without it the OS writes it back in its own time.
#[derive(Debug)]
struct SpoolBackend {
  file: FileBackend,
  /// The same file, to take disk blocks for it ([`SpoolBackend::set_len`]).
  blocks: std::fs::File,
  sync: bool,
}

impl StorageBackend for SpoolBackend {
  fn len(&self) -> std::io::Result<u64> {
    self.file.len()
  }

  fn read(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    self.file.read(offset, len)
  }

  /// Takes the disk's blocks for the part grown when the disk has them: a part grown only by
  /// its length holds none until each page is written, and redb counts its pages free, so a
  /// commit could fail halfway on a full disk while room in the file was left (see
  /// [`fill_holes`]). Grown only by its length when the disk has not all of them.
  fn set_len(&self, len: u64) -> std::io::Result<()> {
    let old = self.file.len()?;
    if len > old && fill(&self.blocks, old, len - old).is_ok() {
      return Ok(());
    }
    self.file.set_len(len)
  }

  fn sync_data(&self, eventual: bool) -> std::io::Result<()> {
    if self.sync {
      self.file.sync_data(eventual)
    } else {
      Ok(())
    }
  }

  fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
    self.file.write(offset, data)
  }
}

pub(super) enum Attempt {
  Opened(Database),
  /// Another logger holds it.
  Locked,
  /// Damaged: why.
  Damaged(String),
  Failed(SpoolError),
}

/// Opens `name` in `dir`, creating it when missing. A panic of the storage engine on a damaged
/// file is caught and reported as damage.
pub(super) fn try_open(dir: &Path, name: &str, sync: bool) -> Attempt {
  let path = dir.join(name);
  let was_missing = std::fs::metadata(&path).map_or(true, |m| m.len() == 0);
  let file = match private_file(
    dir,
    name,
    OpenOptions::new().read(true).write(true).create(true),
  ) {
    Ok(file) => file,
    Err(e) => return Attempt::Failed(e.into()),
  };
  // `Ok(None)`: another logger holds the file.
  let opened = catch_unwind(AssertUnwindSafe(|| -> SpoolResult<Option<Database>> {
    let blocks = file.try_clone()?;
    let backend = match FileBackend::new(file) {
      Ok(file) => SpoolBackend { file, blocks, sync },
      Err(DatabaseError::DatabaseAlreadyOpen) => return Ok(None),
      Err(other) => return Err(other.into()),
    };
    let db = Database::builder()
      .set_cache_size(CACHE_BYTES)
      .create_with_backend(backend)?;
    let txn = db.begin_write()?;
    txn.open_table(EVENTS)?;
    txn.commit()?;
    Ok(Some(db))
  }));
  match opened {
    Ok(Ok(Some(db))) => Attempt::Opened(db),
    Ok(Ok(None)) => Attempt::Locked,
    Ok(Err(error)) if Damage::of(&error) => Attempt::Damaged(error.to_string()),
    Ok(Err(error)) => {
      // A file this attempt created and could not finish (a full disk) holds nothing: do not
      // leave it to be taken for a damaged one later.
      if was_missing {
        let _ = std::fs::remove_file(&path);
      }
      Attempt::Failed(error)
    }
    Err(_) => Attempt::Damaged(ENGINE_PANICKED.into()),
  }
}

/// Opens the file this spool owns (`preferred`), or, before it owns one, `spool.redb` or a
/// file of its own when another logger holds that, or (unless `claim_filled`) when it holds
/// events another logger wrote since this one started. A damaged file is moved aside and a
/// new one started under its name.
pub(super) fn open(
  dir: &Path,
  preferred: Option<&str>,
  claim_filled: bool,
  sync: bool,
  notices: &mut Vec<String>,
) -> SpoolResult<Opened> {
  let mut name = preferred.unwrap_or(Spool::FILE_NAME).to_string();
  for _ in 0..OPEN_ATTEMPTS {
    match try_open(dir, &name, sync) {
      Attempt::Opened(db) if preferred.is_none() && !claim_filled && holds_events(&db) => {
        close_quietly(Opened {
          db,
          name: name.clone(),
        });
        let own = unique_name();
        notices.push(format!(
          "{name} holds another logger's events (a live logger adopts them); spooling to {own}"
        ));
        name = own;
      }
      Attempt::Opened(db) => return Ok(Opened { db, name }),
      Attempt::Locked => {
        let own = unique_name();
        notices.push(format!(
          "{name} is in use by another logger; spooling to {own}"
        ));
        name = own;
      }
      Attempt::Damaged(why) => {
        let moved_to = move_aside(dir, &name)?;
        notices.push(format!(
          "{name} could not be read ({why}); moved to {moved_to} and started a new spool file"
        ));
      }
      Attempt::Failed(error) => return Err(error),
    }
  }
  Err(SpoolError::Database(Box::new(redb::Error::Corrupted(
    "no spool file could be opened".into(),
  ))))
}

/// Whether the file holds any event (a read that fails counts as holding some: not ours).
pub(super) fn holds_events(db: &Database) -> bool {
  catch_unwind(AssertUnwindSafe(|| -> SpoolResult<bool> {
    let txn = db.begin_read()?;
    Ok(txn.open_table(EVENTS)?.len()? > 0)
  }))
  .map_or(true, |held| held.unwrap_or(true))
}

/// Renames a damaged file to `<name>.corrupt-<ms>`, kept for inspection; returns the new name.
pub(super) fn move_aside(dir: &Path, name: &str) -> std::io::Result<String> {
  let aside = format!("{name}.corrupt-{}", chrono::Utc::now().timestamp_millis());
  std::fs::rename(dir.join(name), dir.join(&aside))?;
  Ok(aside)
}

/// Drops a database; a damaged one may panic on the way out, which must not spread.
pub(super) fn close_quietly(opened: Opened) {
  let _ = catch_unwind(AssertUnwindSafe(move || drop(opened)));
}

/// Lets a file go at close: a file of its own beside `spool.redb` is deleted when empty, so a
/// shared directory does not fill with empty files.
pub(super) fn release(dir: &Path, opened: Opened) {
  let empty = opened.name != Spool::FILE_NAME
    && catch_unwind(AssertUnwindSafe(|| -> SpoolResult<bool> {
      let txn = opened.db.begin_read()?;
      Ok(txn.open_table(EVENTS)?.len()? == 0)
    }))
    .is_ok_and(|r| r.unwrap_or(false));
  let path = dir.join(&opened.name);
  close_quietly(opened);
  if empty {
    let _ = std::fs::remove_file(path);
  }
}
