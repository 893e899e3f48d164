//! A scriptable Hub on 127.0.0.1 for hostile answers the project's test Hub never gives:
//! every request goes to the test's closure, which answers with whatever bytes it likes
//! (lies about sizes, bodies that never end, silence, redirects anywhere).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a request is answered.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status, extra headers and a body; `Content-Length` is the body's length unless
    /// `length` says otherwise (a lie), and the connection closes after the body.
    Send {
        /// HTTP status.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
        /// The `Content-Length` to claim, if not the body's.
        length: Option<u64>,
    },
    /// `200` with `Content-Length: length`, then `prefix`, then silence until the client
    /// gives up (or the server stops).
    Stall {
        /// The claimed length.
        length: u64,
        /// Bytes sent before the silence.
        prefix: Vec<u8>,
    },
    /// Accepts the request and never answers.
    Silent,
    /// `200` without a length, then bytes forever.
    Endless,
}

impl Reply {
    /// `200` with a JSON body.
    pub fn json(value: &serde_json::Value) -> Self {
        Self::Send {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
            length: None,
        }
    }

    /// `200` with these bytes.
    pub fn bytes(body: &[u8]) -> Self {
        Self::Send {
            status: 200,
            headers: Vec::new(),
            body: body.to_vec(),
            length: None,
        }
    }

    /// A redirect to `location`.
    pub fn redirect(location: &str) -> Self {
        Self::Send {
            status: 302,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
            length: None,
        }
    }

    /// `404` with the Hub's error code.
    pub fn not_found(code: &str) -> Self {
        Self::Send {
            status: 404,
            headers: vec![("X-Error-Code".into(), code.into())],
            body: Vec::new(),
            length: None,
        }
    }
}

type Handler = dyn Fn(&str, &str) -> Reply + Send + Sync;

/// A running server; stopped when dropped.
pub struct RawHub {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for RawHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawHub").field("url", &self.url).finish()
    }
}

/// Longest a stalled or endless answer is kept up.
const MAX_HOLD: Duration = Duration::from_secs(120);

impl RawHub {
    /// Serves `handler(method, path_and_query)` for every request, each connection on its
    /// own thread.
    pub fn start(handler: impl Fn(&str, &str) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        listener.set_nonblocking(true).unwrap();
        let (log2, stop2) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (h, l, s) = (handler.clone(), log2.clone(), stop2.clone());
                        std::thread::spawn(move || serve(stream, &*h, &l, &s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self { url, log, stop }
    }

    /// Every request so far, as `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for RawHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(mut stream: TcpStream, handler: &Handler, log: &Mutex<Vec<String>>, stop: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 << 10 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut first = text.lines().next().unwrap_or_default().split(' ');
    let (method, path) = (
        first.next().unwrap_or_default(),
        first.next().unwrap_or_default(),
    );
    log.lock().unwrap().push(format!("{method} {path}"));
    let hold = |stream: &mut TcpStream| {
        let start = Instant::now();
        while !stop.load(Ordering::Relaxed) && start.elapsed() < MAX_HOLD {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = stream.flush();
    };
    match handler(method, path) {
        Reply::Send {
            status,
            headers,
            body,
            length,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                length.unwrap_or(body.len() as u64)
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            let _ = stream.write_all(out.as_bytes());
            if method != "HEAD" {
                let _ = stream.write_all(&body);
            }
        }
        Reply::Stall { length, prefix } => {
            let out = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n");
            let _ = stream.write_all(out.as_bytes());
            let _ = stream.write_all(&prefix);
            hold(&mut stream);
        }
        Reply::Silent => hold(&mut stream),
        Reply::Endless => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let chunk = vec![b'x'; 64 << 10];
            let start = Instant::now();
            while !stop.load(Ordering::Relaxed) && start.elapsed() < MAX_HOLD {
                if stream.write_all(&chunk).is_err() {
                    break;
                }
            }
        }
    }
}
