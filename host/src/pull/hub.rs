//! The Hub's HTTP API as `pull` uses it: resolve a revision to a commit, list the
//! commit's files, open a file's bytes. Redirects are followed by hand so that the token
//! never reaches another origin (the CDN); 429, 5xx and dropped connections are retried
//! with backoff. Errors keep the Hub's `X-Error-Code`.

use std::io::Read;
use std::time::Duration;

use core_wasm::fetch::{self, RemoteFile};
use serde_json::Value;
use ureq::Agent;
use ureq::http::Response;

/// Most redirects followed for one request.
const MAX_REDIRECTS: usize = 10;
/// Largest API document read (a tree page of 1,000 entries is about 300 kB).
const MAX_API_BODY: u64 = 64 << 20;
/// Longest wait a `Retry-After` may ask for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

pub use core_wasm::hub::{HubError, RevisionInfo, quote};

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// The first wait; it doubles each time, up to 8 s.
    pub base: Duration,
    /// How long a server may stay silent (no response, or no byte of a body) before the
    /// attempt counts as failed.
    pub stall: Duration,
}

impl RetryPolicy {
    /// The wait before attempt `n` (1-based count of failures so far).
    pub fn delay(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d.min(MAX_RETRY_AFTER);
        }
        let factor = 1u32 << failures.saturating_sub(1).min(4);
        (self.base * factor).min(Duration::from_secs(8))
    }
}

/// A Hub at one endpoint, with one token.
pub struct Hub {
    agent: Agent,
    endpoint: String,
    token: Option<String>,
    /// The retry policy for every request.
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("Hub")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// `scheme://host[:port]` of a URL.
pub fn origin(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    &url[..end]
}

fn header<'a>(resp: &'a Response<ureq::Body>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The error a non-success answer stands for.
fn status_error(resp: &Response<ureq::Body>) -> HubError {
    HubError::from_status(
        resp.status().as_u16(),
        header(resp, "x-error-code"),
        header(resp, "x-error-message"),
    )
}

fn network(e: &ureq::Error, stall: Duration) -> HubError {
    match e {
        ureq::Error::Timeout(_) => HubError::Network(stalled(stall)),
        _ => HubError::Network(e.to_string()),
    }
}

/// Whether a URL reference starts with a scheme (RFC 3986: a letter, then letters, digits,
/// `+`, `-` or `.`, then `:`, before any `/`, `?` or `#`).
fn has_scheme(reference: &str) -> bool {
    let head = reference.split(['/', '?', '#']).next().unwrap_or_default();
    head.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    })
}

/// Whether a body read failed because the server went silent (ureq wraps its own
/// `Timeout` in the `io::Error`).
pub fn is_timeout(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::TimedOut
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>())
            .is_some_and(|u| matches!(u, ureq::Error::Timeout(_)))
}

/// What a silent server is told it did.
pub fn stalled(stall: Duration) -> String {
    format!(
        "the server sent nothing for {} s (MLXK_PULL_TIMEOUT_SECS)",
        stall.as_secs()
    )
}

/// The next URL of a redirect from `from`, or why it is refused: only `http` and `https`,
/// and never from `https` down to `http` (a `file://` or other scheme is never opened).
pub fn redirect_target(from: &str, location: &str) -> Result<String, HubError> {
    let location = location.trim();
    let next = if location.starts_with("//") {
        // Scheme-relative.
        let scheme = from.split("://").next().unwrap_or("https");
        format!("{scheme}:{location}")
    } else if location.starts_with('/') {
        format!("{}{location}", origin(from))
    } else if has_scheme(location) {
        location.to_owned()
    } else {
        // Relative to the current path's folder.
        let path = &from[origin(from).len()..];
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let folder = path.rfind('/').map_or("/", |i| &path[..=i]);
        format!("{}{folder}{location}", origin(from))
    };
    let scheme = next
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    let refused = |why: &str| {
        Err(HubError::Malformed(format!(
            "refused a redirect to '{next}': {why}"
        )))
    };
    match scheme.as_str() {
        "https" => Ok(next),
        "http" if from.to_ascii_lowercase().starts_with("https:") => {
            refused("it leaves https for plain http")
        }
        "http" => Ok(next),
        _ => refused("only http and https are followed"),
    }
}

impl Hub {
    /// A client for `endpoint` (no trailing `/`).
    pub fn new(endpoint: &str, token: Option<String>, retry: RetryPolicy) -> Self {
        let config = Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(format!("mlxk/{}", core_wasm::protocol::CLI_VERSION))
            .timeout_connect(Some(retry.stall.min(Duration::from_secs(10))))
            .timeout_recv_response(Some(retry.stall))
            .timeout_per_read(Some(retry.stall))
            .max_idle_connections_per_host(16)
            .build();
        Self {
            agent: Agent::new_with_config(config),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            token,
            retry,
        }
    }

    /// `{endpoint}/{repo}/resolve/{commit}/{path}`
    pub fn file_url(&self, repo_id: &str, commit: &str, path: &str) -> String {
        format!(
            "{}{}",
            self.endpoint,
            core_wasm::hub::file_path(repo_id, commit, path)
        )
    }

    /// One GET (or HEAD), following redirects by hand: the token goes only to the
    /// endpoint's own origin. Returns the final response whatever its status.
    pub fn send_once(
        &self,
        head: bool,
        url: &str,
        range_from: Option<u64>,
    ) -> Result<Response<ureq::Body>, HubError> {
        let mut url = url.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let mut req = if head {
                self.agent.head(&url)
            } else {
                self.agent.get(&url)
            };
            if let Some(token) = &self.token
                && origin(&url) == origin(&self.endpoint)
            {
                req = req.header("Authorization", format!("Bearer {token}"));
            }
            if let Some(from) = range_from {
                req = req.header("Range", format!("bytes={from}-"));
            }
            let resp = req.call().map_err(|e| network(&e, self.retry.stall))?;
            if !resp.status().is_redirection() {
                return Ok(resp);
            }
            let Some(location) = header(&resp, "location") else {
                return Ok(resp);
            };
            url = redirect_target(&url, location)?;
        }
        Err(HubError::Malformed(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// A GET whose answer must be a success, retried while the failure is transient.
    pub fn get(
        &self,
        url: &str,
        range_from: Option<u64>,
    ) -> Result<Response<ureq::Body>, HubError> {
        let mut failures = 0;
        loop {
            let (err, retry_after) = match self.send_once(false, url, range_from) {
                Ok(resp) if resp.status().is_success() || resp.status().as_u16() == 416 => {
                    return Ok(resp);
                }
                Ok(resp) => {
                    let after = header(&resp, "retry-after")
                        .and_then(|s| s.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    (status_error(&resp), after)
                }
                Err(e) => (e, None),
            };
            failures += 1;
            if !err.is_transient() || failures >= self.retry.attempts {
                return Err(err);
            }
            std::thread::sleep(self.retry.delay(failures, retry_after));
        }
    }

    fn get_json(&self, url: &str) -> Result<(Value, Option<String>), HubError> {
        let resp = self.get(url, None)?;
        let next = header(&resp, "link").and_then(next_link);
        let mut body = resp.into_body();
        let mut text = String::new();
        body.with_config()
            .limit(MAX_API_BODY)
            .reader()
            .read_to_string(&mut text)
            .map_err(|e| HubError::Network(e.to_string()))?;
        let value = serde_json::from_str(&text)
            .map_err(|e| HubError::Malformed(format!("{url}: not JSON ({e})")))?;
        Ok((value, next))
    }

    /// `GET /api/models/{id}/revision/{rev}`: the commit and whether the repo is gated.
    pub fn revision(&self, repo_id: &str, revision: &str) -> Result<RevisionInfo, HubError> {
        let url = format!(
            "{}{}",
            self.endpoint,
            core_wasm::hub::revision_path(repo_id, revision)
        );
        let (info, _) = self.get_json(&url)?;
        core_wasm::hub::parse_revision(&info)
    }

    /// `GET /api/models/{id}/tree/{commit}?recursive=true`, every page, checked.
    pub fn tree(&self, repo_id: &str, commit: &str) -> Result<Vec<RemoteFile>, HubError> {
        let mut url = format!(
            "{}{}",
            self.endpoint,
            core_wasm::hub::tree_path(repo_id, commit)
        );
        let mut files = Vec::new();
        for _ in 0..100_000 {
            let (page, next) = self.get_json(&url)?;
            fetch::parse_tree_page(&page, &mut files)
                .map_err(|e| HubError::Malformed(e.to_string()))?;
            match next {
                // Pages stay on the Hub: a `next` elsewhere would carry the token away.
                Some(n) if origin(&n) == origin(&self.endpoint) => url = n,
                Some(n) if n.starts_with('/') => url = format!("{}{n}", origin(&self.endpoint)),
                Some(n) => {
                    return Err(HubError::Malformed(format!(
                        "tree page link leaves the Hub: {n}"
                    )));
                }
                None => {
                    return fetch::finish_listing(files)
                        .map_err(|e| HubError::Malformed(e.to_string()));
                }
            }
        }
        Err(HubError::Malformed("the tree listing never ends".into()))
    }
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

/// Reads into `buf` until it is full or the body ends; the bytes read.
pub fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if filled > 0 => {
                // Hand over what arrived; the error comes back on the next read.
                let _ = e;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_quoting() {
        assert_eq!(origin("http://127.0.0.1:8080/a/b"), "http://127.0.0.1:8080");
        assert_eq!(origin("https://huggingface.co"), "https://huggingface.co");
        assert_eq!(quote("a b/c%.json", true), "a%20b/c%25.json");
        assert_eq!(quote("refs/pr/1", false), "refs%2Fpr%2F1");
    }

    #[test]
    fn redirects_stay_on_http() {
        let from = "http://127.0.0.1:9/org/m/resolve/abc/w.bin?x=1";
        for (location, next) in [
            ("/cdn/1", "http://127.0.0.1:9/cdn/1"),
            ("cdn/1", "http://127.0.0.1:9/org/m/resolve/abc/cdn/1"),
            ("//cdn.example/1", "http://cdn.example/1"),
            ("https://cdn.example/1", "https://cdn.example/1"),
            ("HTTP://other:8/x", "HTTP://other:8/x"),
        ] {
            assert_eq!(redirect_target(from, location).unwrap(), next, "{location}");
        }
        for location in [
            "file:///etc/passwd",
            "file:/etc/passwd",
            "FILE:///etc/passwd",
            "ftp://h/x",
            "data:text/plain,hi",
            "javascript:alert(1)",
        ] {
            let e = redirect_target(from, location).unwrap_err();
            assert!(!e.is_transient(), "{location}: {e}");
            assert!(e.to_string().contains("only http and https"), "{e}");
        }
        let e = redirect_target("https://hub/x", "http://cdn/y").unwrap_err();
        assert!(e.to_string().contains("leaves https"), "{e}");
    }

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link("<https://h/api/x?cursor=2>; rel=\"next\"").as_deref(),
            Some("https://h/api/x?cursor=2")
        );
        assert_eq!(next_link("<https://h/a>; rel=\"prev\""), None);
    }

    #[test]
    fn backoff_doubles_and_honours_retry_after() {
        let p = RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(500),
            stall: Duration::from_secs(60),
        };
        assert_eq!(p.delay(1, None), Duration::from_millis(500));
        assert_eq!(p.delay(3, None), Duration::from_secs(2));
        assert_eq!(p.delay(9, None), Duration::from_secs(8));
        assert_eq!(p.delay(1, Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(p.delay(1, Some(Duration::from_secs(999))), MAX_RETRY_AFTER);
    }
}
