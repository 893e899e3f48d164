//! One mlx-lm worker process (`worker.py`): started with the engine's Python, fed one JSON
//! request per line, read one JSON event per line. It is killed when dropped, and exits on
//! its own when its stdin closes or its parent goes away, so it never outlives us.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

use super::{Engine, EngineError};

/// The engine's cap when none is asked for (the reference's `DEFAULT_MAX_TOKENS`).
pub const DEFAULT_MAX_TOKENS: u64 = 32768;

/// The worker's source, run with `python -c`.
const SOURCE: &str = include_str!("worker.py");

/// A running worker.
#[derive(Debug)]
pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next: u64,
    /// The model folder loaded, if any.
    pub loaded: Option<String>,
}

/// One generation request.
#[derive(Debug, Clone, Default)]
pub struct Generate {
    /// Chat messages (`role`, `content`), formatted with the model's chat template.
    pub messages: Option<Vec<Value>>,
    /// A raw prompt (used when `messages` is `None`).
    pub prompt: String,
    /// Apply the chat template to `messages`.
    pub chat_template: bool,
    /// The cap asked for (`None`: the engine's default).
    pub max_tokens: Option<u64>,
    /// The model's context window, which also caps the output.
    pub context_length: Option<u64>,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus sampling.
    pub top_p: f64,
    /// Repetition penalty (`None` or 1.0: off).
    pub repetition_penalty: Option<f64>,
}

/// What a generation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The whole text.
    pub text: String,
    /// `stop` or `length`.
    pub finish_reason: String,
    /// Tokens in the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
    /// The budget the engine used (the cap, or less when the context window is smaller).
    pub max_tokens: u64,
}

impl Worker {
    /// Starts a worker and waits until mlx-lm is imported.
    pub fn spawn(engine: &Engine) -> Result<Self, EngineError> {
        let mut child = Command::new(&engine.python)
            .args(["-c", SOURCE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // Its own process group: the terminal's Ctrl-C is ours to forward (interrupt.rs).
            .process_group(0)
            .spawn()
            .map_err(|e| {
                EngineError::NotFound(format!(
                    "{} cannot be started ({e})",
                    engine.python.display()
                ))
            })?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut worker = Self {
            child,
            stdin,
            stdout,
            next: 0,
            loaded: None,
        };
        match worker.event(0) {
            Ok(_) => Ok(worker),
            Err(EngineError::Failed(why)) => Err(EngineError::NotFound(format!(
                "{} {why}",
                engine.python.display()
            ))),
            Err(e) => Err(e),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn send(&mut self, mut req: Value) -> Result<u64, EngineError> {
        self.next += 1;
        req["id"] = json!(self.next);
        let line = format!("{req}\n");
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| EngineError::Failed(format!("The engine stopped: {e}")))?;
        Ok(self.next)
    }

    fn event(&mut self, id: u64) -> Result<Value, EngineError> {
        loop {
            let mut line = String::new();
            let n = self
                .stdout
                .read_line(&mut line)
                .map_err(|e| EngineError::Failed(format!("The engine stopped: {e}")))?;
            if n == 0 {
                let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                return Err(EngineError::Failed(format!("The engine exited ({status})")));
            }
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v["id"] != json!(id) {
                continue;
            }
            if v["event"] == "error" {
                return Err(EngineError::Failed(
                    v["message"].as_str().unwrap_or("engine error").to_owned(),
                ));
            }
            return Ok(v);
        }
    }

    /// Loads the model folder at `path` (a no-op when it is the one loaded).
    pub fn load(&mut self, path: &Path) -> Result<(), EngineError> {
        let shown = path.to_string_lossy().into_owned();
        if self.loaded.as_deref() == Some(shown.as_str()) {
            return Ok(());
        }
        self.loaded = None;
        let id = self.send(json!({"op": "load", "path": shown}))?;
        self.event(id)
            .map_err(|e| EngineError::Failed(format!("Failed to load model from {shown}: {e}")))?;
        self.loaded = Some(shown);
        Ok(())
    }

    /// Asks a generation to stop after its current token (SIGINT; worker.py answers
    /// `interrupted` with the text so far).
    pub fn interrupt(&self) {
        signal(self.child.id(), rustix::process::Signal::INT);
    }

    /// Generates; `on_token` gets each piece of text as it comes when given, and returns
    /// whether anyone still wants more (a closed pipe or a gone client does not: the
    /// generation is interrupted rather than run to its budget).
    pub fn generate(
        &mut self,
        req: &Generate,
        mut on_token: Option<&mut dyn FnMut(&str) -> bool>,
    ) -> Result<Generated, EngineError> {
        let mut body = json!({
            "op": "generate",
            "chat_template": req.chat_template,
            "max_tokens": req.max_tokens,
            "context_length": req.context_length,
            "temperature": req.temperature,
            "top_p": req.top_p,
            "repetition_penalty": req.repetition_penalty,
            "stream": on_token.is_some(),
        });
        match &req.messages {
            Some(m) => body["messages"] = Value::Array(m.clone()),
            None => body["prompt"] = json!(req.prompt),
        }
        let id = self.send(body)?;
        let mut wanted = true;
        loop {
            let v = self.event(id)?;
            match v["event"].as_str() {
                Some("token") => {
                    if let (Some(f), Some(t)) = (on_token.as_mut(), v["text"].as_str())
                        && wanted
                        && !f(t)
                    {
                        wanted = false;
                        self.interrupt();
                    }
                }
                Some("done") => {
                    let n = |k: &str| v[k].as_u64().unwrap_or(0);
                    return Ok(Generated {
                        text: v["text"].as_str().unwrap_or_default().to_owned(),
                        finish_reason: v["finish_reason"].as_str().unwrap_or("stop").to_owned(),
                        prompt_tokens: n("prompt_tokens"),
                        completion_tokens: n("completion_tokens"),
                        max_tokens: n("max_tokens"),
                    });
                }
                _ => {}
            }
        }
    }
}

/// Sends `sig` to the process `pid` (0 or an unknown one: nothing).
pub fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
