//! Room kept on the spool's disk: a file of [`RESERVE_BYTES`] beside each logger's spool file
//! (`<file>.reserve`), given back when a write finds the disk full. Deleting sent events
//! rewrites pages too, and on a disk filled to the last page it fails: without this room, a
//! spool that filled its disk while SNS was down could never empty once SNS is back.

use crate::storage::private_file;
use std::fs::OpenOptions;
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};

/// Enough for many commits deleting sent events (a commit that deletes 512 events rewrites
/// a few dozen KiB), and little beside any disk a spool is worth keeping on.
pub(super) const RESERVE_BYTES: u64 = 256 << 10;

fn name_of(spool_file: &str) -> String {
  format!("{spool_file}.reserve")
}

fn path_of(dir: &Path, spool_file: &str) -> PathBuf {
  dir.join(name_of(spool_file))
}

/// Whether the reserve of `spool_file` is in place.
pub(super) fn is_kept(dir: &Path, spool_file: &str) -> bool {
  std::fs::metadata(path_of(dir, spool_file)).is_ok_and(|m| m.len() >= RESERVE_BYTES)
}

/// Writes the reserve of `spool_file` unless it is in place. Written, not only sized: a file
/// only sized holds no blocks of the disk (and `sync_data` makes a delayed allocation fail
/// here rather than later).
pub(super) fn keep(dir: &Path, spool_file: &str) -> io::Result<()> {
  if is_kept(dir, spool_file) {
    return Ok(());
  }
  let name = name_of(spool_file);
  let written = (|| {
    let mut file = private_file(
      dir,
      &name,
      OpenOptions::new().write(true).create(true).truncate(true),
    )?;
    file.write_all(&vec![0u8; RESERVE_BYTES as usize])?;
    file.sync_data()
  })();
  if written.is_err() {
    give_back(dir, spool_file);
  }
  written
}

/// Deletes the reserve of `spool_file`, if any.
pub(super) fn give_back(dir: &Path, spool_file: &str) {
  let _ = std::fs::remove_file(path_of(dir, spool_file));
}

/// The bytes the filesystem holding `dir` can still give this process.
pub(super) fn available_bytes(dir: &Path) -> io::Result<u64> {
  let stats = rustix::fs::statvfs(dir)?;
  Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// Whether an error says the disk (or the user's quota) is full.
pub(super) fn is_disk_full(error: &io::Error) -> bool {
  matches!(
    error.kind(),
    ErrorKind::StorageFull | ErrorKind::QuotaExceeded
  )
}
