//! The data directory's lock: one process at a time runs bulk jobs on a
//! data directory (`serve`, `bulk-run`). It holds an exclusive advisory
//! lock (`flock`) on `{data_dir}/worker.lock` for as long as it runs; the
//! kernel drops the lock when the process dies, however it dies. That is
//! what makes start-up recovery safe: a process holding the lock knows
//! every in-flight message, job lease and `uploads/*.part` file it finds
//! belongs to a process that is gone.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "worker.lock";

/// Held while alive; dropping it (or the process dying) releases the lock.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another exports-local process is running bulk jobs on {data_dir} (it holds {lock}); stop it, or use another --data-dir")]
    Held { data_dir: PathBuf, lock: PathBuf },
    #[error("cannot lock {lock}")]
    Io {
        lock: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DataDirLock {
    /// Takes the lock of `data_dir` (created when missing), without waiting.
    ///
    /// # Errors
    /// [`LockError::Held`] when another process holds it; [`LockError::Io`]
    /// when the file cannot be created or locked.
    pub async fn acquire(data_dir: &Path) -> Result<DataDirLock, LockError> {
        let data_dir = data_dir.to_path_buf();
        let lock = data_dir.join(LOCK_FILE);
        let io = {
            let lock = lock.clone();
            move |source| LockError::Io {
                lock: lock.clone(),
                source,
            }
        };
        let join = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&data_dir).map_err(io.clone())?;
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock)
                .map_err(io.clone())?;
            match file.try_lock() {
                Ok(()) => Ok(DataDirLock { _file: file }),
                Err(TryLockError::WouldBlock) => Err(LockError::Held { data_dir, lock }),
                Err(TryLockError::Error(e)) => Err(io(e)),
            }
        })
        .await;
        join.map_err(|e| LockError::Io {
            lock: PathBuf::from(LOCK_FILE),
            source: std::io::Error::other(e),
        })?
    }
}
