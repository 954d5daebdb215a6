//! The lock on a spool directory: every logger holds it shared while it may write there, and
//! an operator's command that rewrites files there (`dead-letters requeue`) takes it alone,
//! so that neither pulls a file from under the other. A logger that spooled nothing holds no
//! spool file, so the spool files' own locks cannot tell that the directory is in use.

use super::private_file;
use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::Path;

pub struct DirLock {
  // Held for its lock: the lock goes with the file's last descriptor.
  _file: File,
}

/// What a lock attempt found.
pub enum DirLockError {
  /// Another holder has it in a way that excludes this one.
  Busy,
  /// The directory or its lock file cannot be used.
  Io(io::Error),
}

impl DirLock {
  pub const FILE_NAME: &'static str = ".sns-logger.lock";

  /// Shared with other loggers; creates the directory (0700) and the lock file (0600).
  pub fn share(dir: &Path) -> Result<DirLock, DirLockError> {
    let file = open(dir)?;
    match file.try_lock_shared() {
      Ok(()) => Ok(DirLock { _file: file }),
      Err(error) => Err(error.into()),
    }
  }

  /// Alone: fails with `Busy` while any logger holds the directory.
  pub fn claim(dir: &Path) -> Result<DirLock, DirLockError> {
    let file = open(dir)?;
    match file.try_lock() {
      Ok(()) => Ok(DirLock { _file: file }),
      Err(error) => Err(error.into()),
    }
  }
}

fn open(dir: &Path) -> Result<File, DirLockError> {
  private_file(
    dir,
    DirLock::FILE_NAME,
    OpenOptions::new()
      .create(true)
      .truncate(false)
      .read(true)
      .write(true),
  )
  .map_err(DirLockError::Io)
}

impl From<TryLockError> for DirLockError {
  fn from(error: TryLockError) -> DirLockError {
    match error {
      TryLockError::WouldBlock => DirLockError::Busy,
      TryLockError::Error(error) => DirLockError::Io(error),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn loggers_share_the_directory_and_a_claim_waits_for_all_of_them_to_let_go() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let (Ok(first), Ok(second)) = (DirLock::share(&spool), DirLock::share(&spool)) else {
      panic!("two loggers share a directory");
    };
    assert!(matches!(DirLock::claim(&spool), Err(DirLockError::Busy)));
    drop(first);
    assert!(matches!(DirLock::claim(&spool), Err(DirLockError::Busy)));
    drop(second);
    let claimed = DirLock::claim(&spool)
      .ok()
      .expect("claimed once no logger holds it");
    assert!(matches!(DirLock::share(&spool), Err(DirLockError::Busy)));
    drop(claimed);
    assert!(DirLock::share(&spool).is_ok());
  }

  #[test]
  fn a_directory_that_cannot_be_used_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    assert!(matches!(DirLock::share(&file), Err(DirLockError::Io(_))));
  }
}
