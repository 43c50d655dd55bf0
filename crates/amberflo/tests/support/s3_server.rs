//! An `s3s-fs` process on 127.0.0.1 for tests (installed by `.ci/run`: `cargo install s3s-fs
//! --version 0.14.1 --features binary --locked`; set `S3S_FS` to use another path). Its
//! buckets are directories, so tests read what landed straight from the disk. Shared by the
//! S3 tests of the facade and of the command line (`#[path]`).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "AKIDAMBERFLOTEST";
pub const SECRET: &str = "amberflo-test-secret-key";
pub const BUCKET: &str = "amberflo-ingest";

/// An `s3s-fs` process serving a fresh directory; killed on drop.
pub struct S3Server {
    child: Child,
    root: PathBuf,
    pub url: String,
}

impl S3Server {
    pub fn start() -> S3Server {
        let binary = std::env::var("S3S_FS").unwrap_or_else(|_| "s3s-fs".to_owned());
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let root = std::env::temp_dir().join(format!(
            "amberflo-s3-{}-{port}-{}",
            std::process::id(),
            uuid_like()
        ));
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET])
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start `{binary}` ({error}): install it with `cargo install s3s-fs \
                     --version 0.14.1 --features binary --locked` (.ci/run does)"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not start listening");
            thread::sleep(Duration::from_millis(20));
        }
        S3Server {
            child,
            root,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The objects in the bucket: key (relative path) and contents.
    pub fn objects(&self) -> Vec<(String, Vec<u8>)> {
        let bucket = self.root.join(BUCKET);
        let mut found = Vec::new();
        collect(&bucket, &bucket, &mut found);
        found.sort();
        found
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn collect(base: &Path, dir: &Path, found: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(base, &path, found);
        } else {
            let key = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            // s3s-fs keeps its own metadata beside the objects.
            if !key.starts_with('.') && !key.contains("/.") {
                found.push((key, std::fs::read(&path).unwrap()));
            }
        }
    }
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
