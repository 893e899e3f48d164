//! A server-sent-events response written straight to the connection, one HTTP chunk per
//! event, flushed at once. tiny_http's own streaming responses collect 8 KiB before they
//! send a chunk, which would hold back the first tokens of an answer; this writes the
//! head itself and hands the connection back to tiny_http when dropped (keep-alive works,
//! since the chunked body ends itself).

use std::io::{self, Write};

use tiny_http::{HTTPVersion, Request};

/// An open event stream.
pub struct EventStream {
    out: Box<dyn Write + Send>,
    /// HTTP/1.0 has no chunked encoding: the body then ends when the connection closes.
    chunked: bool,
    failed: bool,
}

impl EventStream {
    /// Sends the head (200, `text/event-stream`, the request id) and opens the body.
    pub fn open(request: Request, request_id: &str) -> Self {
        let chunked = *request.http_version() >= HTTPVersion(1, 1);
        let mut out = request.into_writer();
        let (version, framing) = if chunked {
            ("1.1", "Transfer-Encoding: chunked")
        } else {
            ("1.0", "Connection: close")
        };
        let head = format!(
            "HTTP/{version} 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Request-ID: {request_id}\r\n{framing}\r\n\r\n"
        );
        let failed = out
            .write_all(head.as_bytes())
            .and_then(|()| out.flush())
            .is_err();
        Self {
            out,
            chunked,
            failed,
        }
    }

    /// Sends one event; false once the client is gone (nothing more is written then).
    pub fn send(&mut self, event: &[u8]) -> bool {
        if self.failed || event.is_empty() {
            return !self.failed;
        }
        let result = if self.chunked {
            write!(self.out, "{:x}\r\n", event.len())
                .and_then(|()| self.out.write_all(event))
                .and_then(|()| self.out.write_all(b"\r\n"))
        } else {
            self.out.write_all(event)
        };
        self.failed = result.and_then(|()| self.out.flush()).is_err();
        !self.failed
    }

    /// Ends the body.
    pub fn finish(mut self) -> io::Result<()> {
        if self.chunked && !self.failed {
            self.out.write_all(b"0\r\n\r\n")?;
        }
        self.out.flush()
    }
}
