//! A live process holding an flock, as a running download holds its lock (huggingface_hub
//! takes the same lock through `filelock`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A Python child holding an exclusive flock on a file until dropped.
#[derive(Debug)]
pub struct LockHolder(Child);

impl LockHolder {
    /// Takes the lock on `path` and returns once it is held.
    pub fn hold(path: &Path) -> Self {
        let mut child = Command::new(crate::hub::python())
            .args([
                "-c",
                "import fcntl, sys, time\nf = open(sys.argv[1])\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(600)",
            ])
            .arg(path)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python runs");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "held");
        Self(child)
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first file name in `dir` (a repo's only lock, its only blob).
pub fn first_name(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .unwrap()
        .next()
        .expect("the folder is empty")
        .unwrap()
        .file_name()
        .into_string()
        .unwrap()
}
