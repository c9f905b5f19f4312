//! A small HTTP/1.1 server on 127.0.0.1 for the checklist tests, std only, one thread
//! per connection, playing the seed-001 API that the built-in `assisted-public-launch`
//! template probes:
//!
//! - `GET /health` → `{"status", "checks": {"migrations": {"pending"}}}` (ok, degraded,
//!   pending migrations: switchable);
//! - `POST /api/auth/token/integration` with `{"key": …}` → 200 `{"token", "token_type":
//!   "bearer"}` for the valid key, 401 for a revoked, unknown or missing key (a broken
//!   server can be told to accept the revoked key);
//! - `POST /api/upload` (and `/api/catalog/upload`, `/api/ship/upload`,
//!   `/api/orders/upload`) with `Authorization: Bearer <token>` → 202 `{"job": {"id",
//!   "status": "queued"}}`, 401 without a valid token;
//! - `GET /api/jobs/:id` → `{"id", "status"}`, `running` then `done` on successive polls
//!   (or never done), 401 without a valid token, 404 for an unknown job;
//! - `GET /api/sima/results?job_id=…` → `{"job_id", "results": [...]}`, 401 without a
//!   valid token;
//!
//! every response with an `x-request-id` header. The server stops when dropped.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

/// What `/health` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// 200, `ok`, no pending migrations.
    Ok,
    /// 200, `degraded`, no pending migrations.
    Degraded,
    /// 200, `degraded`, with this many pending migrations.
    PendingMigrations(u32),
    /// 503, `down`.
    Down,
}

/// The switchable behaviour and what the server saw.
#[derive(Debug)]
pub struct State {
    pub health: Health,
    pub valid_key: String,
    pub revoked_key: String,
    /// A broken server: the revoked key gets a token.
    pub accept_revoked: bool,
    /// Jobs never reach `done`.
    pub jobs_never_finish: bool,
    /// Every response waits this long first.
    pub delay_ms: u64,
    /// The token handed out for the valid key.
    pub token: String,
    /// Polls seen per job.
    pub polls: BTreeMap<String, u32>,
    /// Jobs created.
    pub jobs: u32,
    /// `METHOD path` of every request, in order.
    pub seen: Vec<String>,
}

/// A running test server.
pub struct Server {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server on 127.0.0.1 with an ephemeral port.
    pub fn start(valid_key: &str, revoked_key: &str, token: &str) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            health: Health::Ok,
            valid_key: valid_key.to_owned(),
            revoked_key: revoked_key.to_owned(),
            accept_revoked: false,
            jobs_never_finish: false,
            delay_ms: 0,
            token: token.to_owned(),
            polls: BTreeMap::new(),
            jobs: 0,
            seen: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            let ids = Arc::new(AtomicU64::new(0));
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let (st, ids) = (st.clone(), ids.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &st, &ids);
                });
            }
        });
        Server {
            addr,
            state,
            stop,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the behaviour.
    pub fn set(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap());
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<String> {
        self.state.lock().unwrap().seen.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// A port nothing listens on (bound, then released).
pub fn closed_port_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

struct Req {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    body: Option<Value>,
}

fn read_request(stream: &TcpStream) -> std::io::Result<Option<Req>> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len.min(1 << 20)];
    reader.read_exact(&mut body)?;
    let (path, q) = target.split_once('?').unwrap_or((&target, ""));
    let query = q
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Ok(Some(Req {
        method,
        path: path.to_owned(),
        query,
        headers,
        body: serde_json::from_slice(&body).ok(),
    }))
}

fn serve(mut stream: TcpStream, state: &Mutex<State>, ids: &AtomicU64) -> std::io::Result<()> {
    let Some(req) = read_request(&stream)? else {
        return Ok(());
    };
    let delay = {
        let mut s = state.lock().unwrap();
        s.seen.push(format!("{} {}", req.method, req.path));
        s.delay_ms
    };
    if delay > 0 {
        std::thread::sleep(Duration::from_millis(delay));
    }
    let (status, body) = route(&req, &mut state.lock().unwrap());
    let n = ids.fetch_add(1, Ordering::SeqCst) + 1;
    let text = body.to_string();
    let reason = match status {
        200 => "OK",
        202 => "Accepted",
        401 => "Unauthorized",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: req-{n}\r\nconnection: close\r\n\r\n",
        text.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(text.as_bytes())?;
    stream.flush()
}

fn authorized(req: &Req, s: &State) -> bool {
    req.headers
        .get("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == s.token)
}

fn unauthorized() -> (u16, Value) {
    (401, json!({"error": "unauthorized"}))
}

fn route(req: &Req, s: &mut State) -> (u16, Value) {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/health") => match s.health {
            Health::Ok => (200, json!({"status": "ok", "checks": {"migrations": {"pending": 0}}})),
            Health::Degraded => (
                200,
                json!({"status": "degraded", "checks": {"migrations": {"pending": 0}}}),
            ),
            Health::PendingMigrations(n) => (
                200,
                json!({"status": "degraded", "checks": {"migrations": {"pending": n}}}),
            ),
            Health::Down => (503, json!({"status": "down"})),
        },
        ("POST", "/api/auth/token/integration") => {
            let key = req
                .body
                .as_ref()
                .and_then(|b| b.get("key"))
                .and_then(Value::as_str)
                .or_else(|| req.headers.get("x-api-key").map(String::as_str));
            match key {
                Some(k) if k == s.valid_key || (s.accept_revoked && k == s.revoked_key) => {
                    (200, json!({"token": s.token, "token_type": "bearer"}))
                }
                Some(k) if k == s.revoked_key => (401, json!({"error": "key revoked"})),
                _ => (401, json!({"error": "invalid key"})),
            }
        }
        ("POST", "/api/upload" | "/api/catalog/upload" | "/api/ship/upload" | "/api/orders/upload") => {
            if !authorized(req, s) {
                return unauthorized();
            }
            s.jobs += 1;
            let id = format!("job-{}", s.jobs);
            s.polls.insert(id.clone(), 0);
            (202, json!({"job": {"id": id, "status": "queued"}}))
        }
        ("GET", path) if path.starts_with("/api/jobs/") => {
            if !authorized(req, s) {
                return unauthorized();
            }
            let id = path.trim_start_matches("/api/jobs/").to_owned();
            let never = s.jobs_never_finish;
            let Some(n) = s.polls.get_mut(&id) else {
                return (404, json!({"error": "no such job"}));
            };
            *n += 1;
            let status = if never || *n < 2 { "running" } else { "done" };
            (200, json!({"id": id, "status": status}))
        }
        ("GET", "/api/sima/results") => {
            if !authorized(req, s) {
                return unauthorized();
            }
            let job = req.query.get("job_id").cloned().unwrap_or_default();
            if !s.polls.contains_key(&job) {
                return (404, json!({"error": "no such job"}));
            }
            (
                200,
                json!({"job_id": job, "results": [{"reference": "first-value-1", "finding": "none"}]}),
            )
        }
        _ => (404, json!({"error": "not found"})),
    }
}
