//! `mlxk serve`: an OpenAI-compatible HTTP server (tiny_http) over the models the guest
//! finds, with one supervised mlx-lm worker (`crate::engine`) behind it. Requests name
//! models as the CLI does; the guest resolves and gates each name (`run --plan`), the
//! worker is started on first use, switched when another model is asked for, and started
//! again if it died. Generation is one at a time (the worker's lock); requests queue.

pub mod openai;
pub mod stream;

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tiny_http::{Header, Request, Response, Server, StatusCode};

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
    /// The guest's recent answers by model name: a burst of requests resolves a name once,
    /// and one guest runs at a time.
    plans: Mutex<std::collections::HashMap<String, (std::time::Instant, RunPlanCached)>>,
    next_id: AtomicU64,
}

/// An error response: the reference's shape, with the request id.
fn error_response(
    status: u16,
    kind: &str,
    message: &str,
    request_id: &str,
) -> Response<std::io::Cursor<Vec<u8>>> {
    let body = json!({
        "status": "error",
        "error": {"type": kind, "message": message, "retryable": status >= 500},
        "request_id": request_id,
    });
    json_response(status, &body, request_id)
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn json_response(
    status: u16,
    body: &Value,
    request_id: &str,
) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_data(serde_json::to_vec(body).unwrap_or_default())
        .with_status_code(StatusCode(status))
        .with_header(header("Content-Type", "application/json"))
        .with_header(header("X-Request-ID", request_id))
}

/// Starts the server; returns only on a fatal error (it runs until killed).
pub fn run(ctx: &Context, engine: Engine, settings: Settings) -> Result<(), String> {
    let addr = format!("{}:{}", settings.host, settings.port);
    let server = Server::http(&addr).map_err(|e| format!("Cannot listen on {addr}: {e}"))?;
    let state = Arc::new(State {
        ctx: ctx.clone(),
        engine,
        settings,
        worker: Mutex::new(None),
        plans: Mutex::new(std::collections::HashMap::new()),
        next_id: AtomicU64::new(1),
    });
    if let Some(model) = state.settings.preload.clone()
        && let Err((_, _, msg)) = state.ensure(&model)
    {
        return Err(msg);
    }
    let port = server
        .server_addr()
        .to_ip()
        .map_or(state.settings.port, |a| a.port());
    crate::printer::stderr(
        format!(
            "serve: listening on http://{}:{port}\n",
            state.settings.host
        )
        .as_bytes(),
    );
    for request in server.incoming_requests() {
        let state = Arc::clone(&state);
        std::thread::spawn(move || state.handle(request));
    }
    Ok(())
}

/// How long a resolved name is reused (a pull or rm shows up after this).
const PLAN_TTL: std::time::Duration = std::time::Duration::from_secs(2);

type RunPlanCached = core_wasm::commands::run::RunPlan;

impl State {
    fn plan(&self, model: &str) -> Result<RunPlanCached, (u16, String, String)> {
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

    /// Resolves `model` in the guest and makes sure the worker has it loaded.
    /// Errors are (status, type, message).
    fn ensure(&self, model: &str) -> Result<(String, Option<u64>), (u16, String, String)> {
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
        if let Err(e) = w.load(std::path::Path::new(&path)) {
            *slot = None;
            return Err(engine_error(&e));
        }
        Ok((path, context_length))
    }

    fn handle(&self, mut request: Request) {
        let id = self.request_id();
        let method = request.method().as_str().to_owned();
        let url = request
            .url()
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut body = String::new();
        let _ = request.as_reader().take(64 << 20).read_to_string(&mut body);
        let result = match (method.as_str(), url.as_str()) {
            ("GET", "/health") => Ok(json_response(
                200,
                &json!({"status": "ok", "service": "mlx-knife-server-2.0"}),
                &id,
            )),
            ("GET", "/v1/models") => Ok(json_response(200, &self.models(), &id)),
            ("POST", "/v1/chat/completions") => return self.complete(request, &body, &id, true),
            ("POST", "/v1/completions") => return self.complete(request, &body, &id, false),
            _ => Err((404, "not_found".to_owned(), "Not Found".to_owned())),
        };
        let response = result.unwrap_or_else(|(s, k, m)| error_response(s, &k, &m, &id));
        let _ = request.respond(response);
    }

    /// `/v1/models`: the healthy, runnable models of the cache and the workspace home.
    fn models(&self) -> Value {
        let loaded = self
            .worker
            .lock()
            .ok()
            .and_then(|w| w.as_ref().and_then(|w| w.loaded.clone()));
        openai::models(&self.ctx, loaded.as_deref())
    }

    fn complete(&self, request: Request, body: &str, id: &str, chat: bool) {
        let fail = |request: Request, (s, k, m): (u16, String, String)| {
            let _ = request.respond(error_response(s, &k, &m, id));
        };
        let parsed = match openai::parse(body, chat) {
            Ok(p) => p,
            Err(m) => return fail(request, (400, "validation_error".to_owned(), m)),
        };
        let (_, context_length) = match self.ensure(&parsed.model) {
            Ok(x) => x,
            Err(e) => return fail(request, e),
        };
        let cap = match (parsed.max_tokens, self.settings.max_tokens) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let req = Generate {
            messages: parsed.messages.clone(),
            prompt: parsed.prompt.clone(),
            chat_template: chat,
            max_tokens: cap,
            context_length,
            temperature: parsed.temperature,
            top_p: parsed.top_p,
            repetition_penalty: None,
        };
        let created = openai::now();
        if !parsed.stream {
            let result = self.generate(&req, None);
            let response = match result {
                Ok(done) => json_response(
                    200,
                    &openai::completion(chat, id, created, &parsed.model, &done),
                    id,
                ),
                Err(e) => {
                    let (s, k, m) = e;
                    error_response(s, &k, &m, id)
                }
            };
            let _ = request.respond(response);
            return;
        }
        // Server-sent events, each sent as it comes.
        let mut events = stream::EventStream::open(request, id);
        let model = parsed.model.clone();
        let first = openai::chunk(chat, id, created, &model, Some(""), None, true);
        events.send(&openai::sse(&first));
        // A client that went away stops the generation (the engine is shared).
        let mut on_token = |t: &str| {
            let c = openai::chunk(chat, id, created, &model, Some(t), None, false);
            events.send(&openai::sse(&c))
        };
        match self.generate(&req, Some(&mut on_token)) {
            Ok(done) => {
                let last = openai::chunk(
                    chat,
                    id,
                    created,
                    &model,
                    None,
                    Some(&done.finish_reason),
                    false,
                );
                events.send(&openai::sse(&last));
            }
            Err((_, kind, message)) => {
                let e = json!({"error": {"type": kind, "message": message}});
                events.send(&openai::sse(&e));
            }
        }
        events.send(b"data: [DONE]\n\n");
        let _ = events.finish();
    }

    fn generate(
        &self,
        req: &Generate,
        on_token: Option<&mut dyn FnMut(&str) -> bool>,
    ) -> Result<crate::engine::Generated, (u16, String, String)> {
        let mut slot = self.worker.lock().unwrap_or_else(|p| p.into_inner());
        let Some(w) = slot.as_mut() else {
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
                    *slot = None;
                }
                Err((500, "engine_error".into(), e.to_string()))
            }
        }
    }
}

fn engine_error(e: &EngineError) -> (u16, String, String) {
    (503, e.code().to_owned(), e.to_string())
}
