//! Test helpers: raw TCP servers on 127.0.0.1 for what mockito cannot do, and a tiny
//! runtime-free executor.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// How long a raw server keeps a silent connection open before giving up.
const HOLD: Duration = Duration::from_secs(3);

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
pub fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

/// Reads one request head and its body (by Content-Length); `None` on EOF or error.
fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut buf = [0_u8; 4096];
    let head_end = loop {
        if let Some(pos) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    Some(data)
}

/// Spawns a one-connection server: accepts, reads the request, then calls `respond`.
fn one_shot(respond: impl FnOnce(&mut TcpStream) + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            stream.set_read_timeout(Some(HOLD)).ok();
            if read_request(&mut stream).is_some() {
                respond(&mut stream);
            }
        }
    });
    addr
}

/// A server that accepts and reads the request, then never answers (holds the connection
/// for a few seconds, then closes it).
pub fn silent_server() -> SocketAddr {
    one_shot(|_stream| thread::sleep(HOLD))
}

/// A server whose response announces `Content-Length: 100`, sends 3 bytes, and closes.
pub fn truncating_server() -> SocketAddr {
    one_shot(|stream| {
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
            .ok();
        stream.flush().ok();
    })
}

/// A server answering `200` with `len` bytes of body, announced by `Content-Length` or, when
/// `with_length` is false, delimited by closing the connection.
pub fn huge_body_server(len: usize, with_length: bool) -> SocketAddr {
    one_shot(move |stream| {
        let head = if with_length {
            format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n")
        } else {
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_owned()
        };
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < len {
            let n = chunk.len().min(len - sent);
            if stream.write_all(&chunk[..n]).is_err() {
                return; // the client stopped reading
            }
            sent += n;
        }
    })
}

/// A server answering `status` with a body of `len` bytes.
pub fn status_body_server(status: u16, len: usize) -> SocketAddr {
    one_shot(move |stream| {
        let head = format!("HTTP/1.1 {status} Whatever\r\nContent-Length: {len}\r\n\r\n");
        stream.write_all(head.as_bytes()).ok();
        stream.write_all(&vec![b'e'; len]).ok();
        stream.flush().ok();
    })
}

/// A server answering every request with `301` to `target` (another port).
pub fn redirect_server(target: SocketAddr) -> SocketAddr {
    one_shot(move |stream| {
        let head = format!(
            "HTTP/1.1 301 Moved Permanently\r\nLocation: http://{target}/ingest/\r\n\
             Content-Length: 0\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).ok();
        stream.flush().ok();
    })
}

/// A "TLS" server that answers a ClientHello with plain HTTP, so any handshake fails.
pub fn not_tls_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            stream.set_read_timeout(Some(HOLD)).ok();
            let mut buf = [0_u8; 1024];
            let _ = stream.read(&mut buf);
            stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .ok();
        }
    });
    addr
}

/// A keep-alive HTTP/1.1 server that answers `200 ok` to every request, counting connections
/// and requests. It stops accepting after a few seconds.
pub struct CountingServer {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    pub requests: Arc<AtomicUsize>,
    pub seen: Arc<Mutex<Vec<Vec<u8>>>>,
}

pub fn counting_server() -> CountingServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (c, r, s) = (connections.clone(), requests.clone(), seen.clone());
    thread::spawn(move || {
        let deadline = Instant::now() + HOLD;
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    c.fetch_add(1, Ordering::SeqCst);
                    let (r, s) = (r.clone(), s.clone());
                    thread::spawn(move || {
                        stream.set_nonblocking(false).ok();
                        stream.set_read_timeout(Some(HOLD)).ok();
                        while let Some(request) = read_request(&mut stream) {
                            r.fetch_add(1, Ordering::SeqCst);
                            s.lock().unwrap().push(request);
                            let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                            if stream.write_all(reply).is_err() {
                                break;
                            }
                        }
                    });
                }
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    CountingServer {
        addr,
        connections,
        requests,
        seen,
    }
}

/// Polls `future` to completion on this thread, with no async runtime at all.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct ThreadWaker(thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// Gunzips `data`.
pub fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}
