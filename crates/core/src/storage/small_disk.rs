//! For tests: a small disk to fill (a tmpfs; mounting one needs root).

use std::process::Command;

/// A tmpfs mounted at a directory, unmounted (and the directory removed) when dropped, even
/// when the test fails.
pub(crate) struct SmallDisk(std::path::PathBuf);

impl Drop for SmallDisk {
  fn drop(&mut self) {
    let _ = Command::new("umount").arg(&self.0).status();
    let _ = std::fs::remove_dir_all(&self.0);
  }
}

/// Mounts a tmpfs of `bytes` at `dir`. Fails the test, with the reason, where that is not
/// allowed: a full disk cannot be tested otherwise, and a test that passes without testing
/// anything would say it was (CI runs as root, where it mounts).
pub(crate) fn mount_small_disk(dir: &std::path::Path, bytes: u64) -> SmallDisk {
  std::fs::create_dir_all(dir).unwrap();
  let mounted = Command::new("mount")
    .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
    .arg(dir)
    .output()
    .expect("the mount command runs");
  assert!(
    mounted.status.success(),
    "this test needs a small tmpfs and could not mount one at {} ({}): run it as root",
    dir.display(),
    String::from_utf8_lossy(&mounted.stderr).trim()
  );
  SmallDisk(dir.to_path_buf())
}
