//! Adoption: the events of a spool file whose owner is gone (its lock is free) move into this
//! spool's own file, so that every file in a shared directory is replayed by some logger, once.

use super::file::{self, Attempt};
use super::{Spool, SpoolError, SpoolResult, EVENTS};
use redb::Database;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Events moved per transaction pair (write here, then delete there).
const ADOPT_CHUNK: usize = 5_000;

impl Spool {
  /// Moves the events of every other spool file nobody holds into this spool's own file, in
  /// their order, under new keys from `next_key` (so they replay after what this spool holds);
  /// the emptied file is deleted. Returns how many events were adopted.
  ///
  /// Each chunk is written here before it is deleted there: a crash in between leaves it in
  /// both files, to be sent twice with the same dedup id, never lost.
  pub fn adopt_orphans(&self, mut next_key: impl FnMut() -> u64) -> SpoolResult<u64> {
    // Nothing to adopt: do not create a file of one's own for nothing.
    if file::spool_files(&self.dir).is_empty() {
      return Ok(0);
    }
    // Own a file first, so that it is not taken for an orphan.
    self.with_db(|_| Ok(()))?;
    let own = self.own_name();
    let mut adopted = 0;
    for name in file::spool_files(&self.dir) {
      if Some(&name) == own.as_ref() {
        continue;
      }
      let orphan = match file::try_open(&self.dir, &name, self.sync) {
        Attempt::Opened(db) => db,
        Attempt::Locked => continue,
        Attempt::Damaged(why) => {
          let moved_to = file::move_aside(&self.dir, &name)?;
          self.notices.lock().push(format!(
            "{name}, left by a logger that is gone, could not be read ({why}); moved to {moved_to}"
          ));
          continue;
        }
        Attempt::Failed(error) => return Err(error),
      };
      let moved = self.take_events_of(&orphan, &mut next_key);
      file::close_quietly(file::Opened {
        db: orphan,
        name: name.clone(),
      });
      let moved = moved?;
      std::fs::remove_file(self.dir.join(&name))?;
      super::reserve::give_back(&self.dir, &name);
      if moved > 0 {
        self.notices.lock().push(format!(
          "adopted {moved} events from {name}, left by a logger that is gone"
        ));
      }
      adopted += moved;
    }
    if adopted > 0 {
      self.recount()?;
    }
    Ok(adopted)
  }

  /// The name of the file this spool owns, once opened.
  pub(super) fn own_name(&self) -> Option<String> {
    match &*self.state.lock() {
      super::State::Open(opened) => Some(opened.name.clone()),
      super::State::Closed(name) => name.clone(),
      super::State::Released => None,
    }
  }

  /// Moves every event of `orphan` here, chunk by chunk; returns how many.
  fn take_events_of(
    &self,
    orphan: &Database,
    next_key: &mut impl FnMut() -> u64,
  ) -> SpoolResult<u64> {
    let mut moved = 0;
    loop {
      let chunk = catch_unwind(AssertUnwindSafe(|| -> SpoolResult<Vec<(u64, Vec<u8>)>> {
        let txn = orphan.begin_read()?;
        let table = txn.open_table(EVENTS)?;
        let mut chunk = Vec::new();
        for item in table.range(0..)?.take(ADOPT_CHUNK) {
          let (key, value) = item?;
          chunk.push((key.value(), value.value().to_vec()));
        }
        Ok(chunk)
      }))
      .unwrap_or_else(|_| Err(SpoolError::engine_panicked()))?;
      if chunk.is_empty() {
        return Ok(moved);
      }
      self.with_db(|db| {
        let txn = db.begin_write()?;
        {
          let mut table = txn.open_table(EVENTS)?;
          for (_, bytes) in &chunk {
            table.insert(next_key(), bytes.as_slice())?;
          }
        }
        Ok(txn.commit()?)
      })?;
      let txn = orphan.begin_write()?;
      {
        let mut table = txn.open_table(EVENTS)?;
        for (key, _) in &chunk {
          table.remove(key)?;
        }
      }
      txn.commit()?;
      moved += chunk.len() as u64;
    }
  }
}
