//! The `amberflo-emulator` binary: prints its URL on the first stdout line, serves, and
//! stops cleanly on Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Kills the child if the test fails before it stopped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connects");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("request written");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    response
}

#[test]
fn prints_its_url_serves_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_amberflo-emulator"))
        .args(["--port", "0", "--api-key", "k"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut running = Running(child);

    let (line_tx, line_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = line_tx.send(line);
    });
    let line = line_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the URL is printed");
    let url = line.trim();
    let addr = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not a URL: {url:?}"));
    assert!(addr.starts_with("127.0.0.1:"), "{url}");

    let stats = get(addr, "/_emulator/stats");
    assert!(stats.starts_with("HTTP/1.1 200"), "{stats}");
    let page = get(addr, "/");
    assert!(page.contains("<title>Amberflo emulator</title>"));
    let unauthorized = get(addr, "/customers/");
    assert!(unauthorized.starts_with("HTTP/1.1 401"), "{unauthorized}");

    #[cfg(unix)]
    {
        let pid = running.0.id().to_string();
        let signalled = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill runs");
        assert!(signalled.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = running.0.try_wait().expect("child state") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the binary did not stop on SIGINT"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "clean exit, got {status}");
        assert!(TcpStream::connect(addr).is_err(), "no longer listening");
    }
}
