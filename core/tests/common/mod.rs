//! Helpers shared by the store's integration tests.

use std::path::{Path, PathBuf};

/// A directory under the target dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh directory whose name starts with `name`.
    pub fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The store file inside it.
    #[allow(dead_code)] // not every test file uses it
    pub fn db(&self) -> PathBuf {
        self.0.join("gangway.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
