//! Durable storage: the spool of unsent events (redb), the dead-letter file, and the lock on
//! their directory.

mod dead_letter_file;
mod dir_lock;
#[cfg(test)]
pub(crate) mod small_disk;
mod spool;

pub use dead_letter_file::{DeadLetterFile, DeadLetterLine};
pub use dir_lock::{DirLock, DirLockError};
pub use spool::{
  spool_dir_files, OpenFailure, Spool, SpoolError, SpoolFileEntry, SpoolFileHandle, SpoolRead,
  SpoolRecord,
};

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Creates `dir` (0700) and opens `file` in it, readable by the owner only (0600).
fn private_file(dir: &Path, file: &str, options: &mut OpenOptions) -> io::Result<File> {
  std::fs::DirBuilder::new()
    .recursive(true)
    .mode(0o700)
    .create(dir)?;
  options.mode(0o600).open(dir.join(file))
}
