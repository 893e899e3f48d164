//! `mlxk serve`: an OpenAI-compatible HTTP server (hyper, through axum) over the models the
//! guest finds, with one supervised mlx-lm worker (`crate::engine`) behind it. Requests name
//! models as the CLI does; the guest resolves and gates each name (`run --plan`), the
//! worker is started on first use, switched when another model is asked for, and started
//! again if it died. Generation is one at a time: a request holds the worker's lock from
//! loading its model to its last token, so a switch cannot land under another's answer;
//! the rest queue.

pub mod openai;

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::commands::Context;
use crate::engine::{Engine, EngineError, Generate, Worker};

/// What the server was started with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to bind.
    pub host: String,
    /// Port (0: any free one).
    pub port: u16,
    /// A model to load at once.
    pub preload: Option<String>,
    /// The server's cap on generated tokens (a request may ask for fewer).
    pub max_tokens: Option<u64>,
}

/// The shared state of the handlers.
struct State {
    ctx: Context,
    engine: Engine,
    settings: Settings,
    worker: Mutex<Option<Worker>>,
    /// What the worker has loaded, readable while it generates (`/v1/models` must not wait
    /// for the worker's lock, which a generation holds to its last token).
    loaded: Mutex<Option<String>>,
    /// The guest's recent answers by model name: a burst of requests resolves a name once,
    /// and one guest runs at a time.
    plans: Mutex<std::collections::HashMap<String, (std::time::Instant, RunPlanCached)>>,
    next_id: AtomicU64,
}

/// The largest request body read.
const MAX_BODY: usize = 64 << 20;

/// Events buffered for a slow streaming client before the generation waits for it.
const STREAM_BUFFER: usize = 64;

/// An error (status, type, message).
type Failure = (u16, String, String);

/// An error response: the reference's shape, with the request id.
fn error_response(status: u16, kind: &str, message: &str, request_id: &str) -> Response {
    let body = json!({
        "status": "error",
        "error": {"type": kind, "message": message, "retryable": status >= 500},
        "request_id": request_id,
    });
    json_response(status, &body, request_id)
}

fn failure_response((status, kind, message): Failure, request_id: &str) -> Response {
    error_response(status, &kind, &message, request_id)
}

fn respond(status: u16, content_type: &'static str, request_id: &str, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", id);
    }
    response
}

fn json_response(status: u16, body: &Value, request_id: &str) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    respond(status, "application/json", request_id, Body::from(bytes))
}

/// Starts the server; returns only on a fatal error (it runs until killed).
pub fn run(ctx: &Context, engine: Engine, settings: Settings) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .build()
        .map_err(|e| format!("Cannot start the server: {e}"))?;
    let addr = format!("{}:{}", settings.host, settings.port);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(&addr))
        .map_err(|e| format!("Cannot listen on {addr}: {e}"))?;
    let state = Arc::new(State {
        ctx: ctx.clone(),
        engine,
        settings,
        worker: Mutex::new(None),
        loaded: Mutex::new(None),
        plans: Mutex::new(std::collections::HashMap::new()),
        next_id: AtomicU64::new(1),
    });
    if let Some(model) = state.settings.preload.clone()
        && let Err((_, _, msg)) = state.ensure(&model)
    {
        return Err(msg);
    }
    let port = listener
        .local_addr()
        .map_or(state.settings.port, |a| a.port());
    crate::printer::stderr(
        format!(
            "serve: listening on http://{}:{port}\n",
            state.settings.host
        )
        .as_bytes(),
    );
    // Every path goes through one dispatcher: unknown paths and methods answer the
    // reference's JSON 404, not a framework's empty 404/405.
    let app = axum::Router::new().fallback(dispatch).with_state(state);
    runtime
        .block_on(async { axum::serve(listener, app).await })
        .map_err(|e| format!("The server stopped: {e}"))
}

async fn dispatch(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    method: Method,
    uri: Uri,
    body: Body,
) -> Response {
    let id = state.request_id();
    // A body that is too large or not UTF-8 reads as empty: the endpoint's own
    // validation then says what is missing.
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .unwrap_or_default();
    match (method.as_str(), uri.path()) {
        ("GET", "/health") => json_response(
            200,
            &json!({"status": "ok", "service": "mlx-knife-server-2.0"}),
            &id,
        ),
        ("GET", "/v1/models") => blocking(move || json_response(200, &state.models(), &id)).await,
        ("POST", "/v1/chat/completions") => state.complete(body, id, true).await,
        ("POST", "/v1/completions") => state.complete(body, id, false).await,
        _ => error_response(404, "not_found", "Not Found", &id),
    }
}

/// Runs blocking work (the guest, the worker) off the runtime's threads.
async fn blocking(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        error_response(
            500,
            "internal_error",
            &format!("The handler failed: {e}"),
            "",
        )
    })
}

/// How long a resolved name is reused (a pull or rm shows up after this).
const PLAN_TTL: std::time::Duration = std::time::Duration::from_secs(2);

type RunPlanCached = core_wasm::commands::run::RunPlan;

impl State {
    fn plan(&self, model: &str) -> Result<RunPlanCached, Failure> {
        let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, plan)) = plans.get(model)
            && at.elapsed() < PLAN_TTL
        {
            return Ok(plan.clone());
        }
        let plan = crate::commands::run::plan_quiet(&self.ctx, model)
            .map_err(|e| (500, "internal_error".to_owned(), e.to_string()))?;
        plans.insert(model.to_owned(), (std::time::Instant::now(), plan.clone()));
        Ok(plan)
    }

    fn request_id(&self) -> String {
        format!("req-{:08x}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Resolves `model` in the guest and makes sure the worker has it loaded; the worker's
    /// lock comes back held, so the caller generates on the model it asked for.
    fn ensure(&self, model: &str) -> Result<Loaded<'_>, Failure> {
        use core_wasm::commands::run::RunPlan;
        let plan = self.plan(model)?;
        let (path, context_length) = match plan {
            RunPlan::Run {
                path,
                context_length,
                ..
            } => (path, context_length),
            RunPlan::Reply { error } => {
                let status = if error.message.contains("not found") {
                    404
                } else {
                    400
                };
                return Err((status, error.kind, error.message));
            }
        };
        let mut slot = self.worker.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_mut().is_some_and(|w| !w.alive()) {
            *slot = None;
        }
        if slot.is_none() {
            let w = Worker::spawn(&self.engine).map_err(|e| engine_error(&e))?;
            *slot = Some(w);
        }
        let w = slot.as_mut().expect("just set");
        let load = w.load(std::path::Path::new(&path));
        let now = if load.is_ok() { w.loaded.clone() } else { None };
        *self.loaded.lock().unwrap_or_else(|p| p.into_inner()) = now;
        if let Err(e) = load {
            *slot = None;
            return Err(engine_error(&e));
        }
        Ok(Loaded {
            slot,
            context_length,
        })
    }

    /// `/v1/models`: the healthy, runnable models of the cache and the workspace home.
    fn models(&self) -> Value {
        let loaded = self
            .loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        openai::models(&self.ctx, loaded.as_deref())
    }

    async fn complete(self: Arc<Self>, body: String, id: String, chat: bool) -> Response {
        let parsed = match openai::parse(&body, chat) {
            Ok(p) => p,
            Err(m) => return error_response(400, "validation_error", &m, &id),
        };
        if !parsed.stream {
            return blocking(move || {
                let result = self.ensure(&parsed.model).and_then(|mut loaded| {
                    let req = self.request(&parsed, chat, loaded.context_length);
                    loaded.generate(&req, None)
                });
                match result {
                    Ok(done) => json_response(
                        200,
                        &openai::completion(chat, &id, openai::now(), &parsed.model, &done),
                        &id,
                    ),
                    Err(e) => failure_response(e, &id),
                }
            })
            .await;
        }
        // Server-sent events, each sent as it comes. The model is loaded first, so a
        // name that does not resolve still answers with its status and JSON error.
        let (ready_tx, ready_rx) = oneshot::channel::<Result<(), Failure>>();
        let (tx, rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
        let state = Arc::clone(&self);
        let stream_id = id.clone();
        tokio::task::spawn_blocking(move || {
            let mut loaded = match state.ensure(&parsed.model) {
                Ok(l) => l,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            state.stream(&parsed, chat, &stream_id, &mut loaded, &tx);
        });
        match ready_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return failure_response(e, &id),
            Err(_) => return error_response(500, "internal_error", "The handler failed", &id),
        }
        let events = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
        });
        let mut response = respond(200, "text/event-stream", &id, Body::from_stream(events));
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }

    /// The generation request for a parsed body, under the server's token cap.
    fn request(
        &self,
        parsed: &openai::Parsed,
        chat: bool,
        context_length: Option<u64>,
    ) -> Generate {
        let cap = match (parsed.max_tokens, self.settings.max_tokens) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Generate {
            messages: parsed.messages.clone(),
            prompt: parsed.prompt.clone(),
            chat_template: chat,
            max_tokens: cap,
            context_length,
            temperature: parsed.temperature,
            top_p: parsed.top_p,
            repetition_penalty: None,
        }
    }

    /// Generates into an event stream. A client that went away closes the stream's
    /// receiver, which stops the generation (the engine is shared).
    fn stream(
        &self,
        parsed: &openai::Parsed,
        chat: bool,
        id: &str,
        loaded: &mut Loaded<'_>,
        tx: &mpsc::Sender<Bytes>,
    ) {
        let send = |v: &Value| tx.blocking_send(Bytes::from(openai::sse(v))).is_ok();
        let created = openai::now();
        let model = parsed.model.as_str();
        let first = openai::chunk(chat, id, created, model, Some(""), None, true);
        if !send(&first) {
            return;
        }
        let req = self.request(parsed, chat, loaded.context_length);
        let mut on_token = |t: &str| {
            let c = openai::chunk(chat, id, created, model, Some(t), None, false);
            send(&c)
        };
        let last = match loaded.generate(&req, Some(&mut on_token)) {
            Ok(done) => openai::chunk(
                chat,
                id,
                created,
                model,
                None,
                Some(&done.finish_reason),
                false,
            ),
            Err((_, kind, message)) => json!({"error": {"type": kind, "message": message}}),
        };
        if send(&last) {
            let _ = tx.blocking_send(Bytes::from_static(b"data: [DONE]\n\n"));
        }
    }
}

/// The worker, locked, with the asked-for model loaded.
struct Loaded<'a> {
    slot: MutexGuard<'a, Option<Worker>>,
    context_length: Option<u64>,
}

impl Loaded<'_> {
    fn generate(
        &mut self,
        req: &Generate,
        on_token: Option<&mut dyn FnMut(&str) -> bool>,
    ) -> Result<crate::engine::Generated, Failure> {
        let Some(w) = self.slot.as_mut() else {
            return Err((
                503,
                "engine_error".into(),
                "The engine is not running".into(),
            ));
        };
        match w.generate(req, on_token) {
            Ok(done) => Ok(done),
            Err(e) => {
                // A worker that died is replaced on the next request.
                if !w.alive() {
                    *self.slot = None;
                }
                Err((500, "engine_error".into(), e.to_string()))
            }
        }
    }
}

fn engine_error(e: &EngineError) -> Failure {
    (503, e.code().to_owned(), e.to_string())
}
