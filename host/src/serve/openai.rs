//! The OpenAI wire shapes `serve` speaks: requests parsed, responses and stream chunks
//! built, `/v1/models` from the guest's `list`.

use serde_json::{Value, json};

use crate::commands::{Access, Context, Work, capture_guest};
use crate::engine::Generated;

/// What a completion request asks for.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The model, as the user names it.
    pub model: String,
    /// Chat messages (chat completions).
    pub messages: Option<Vec<Value>>,
    /// The prompt (completions).
    pub prompt: String,
    /// `max_tokens` (or `max_completion_tokens`).
    pub max_tokens: Option<u64>,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus sampling.
    pub top_p: f64,
    /// Server-sent events.
    pub stream: bool,
}

/// Parses a chat (`chat`) or plain completion request.
pub fn parse(body: &str, chat: bool) -> Result<Parsed, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("Invalid JSON body: {e}"))?;
    let model = v["model"]
        .as_str()
        .filter(|m| !m.trim().is_empty())
        .ok_or("body.model: Field required")?
        .to_owned();
    let (messages, prompt) = if chat {
        let m = v["messages"]
            .as_array()
            .filter(|m| !m.is_empty())
            .ok_or("body.messages: Field required")?;
        let messages = m
            .iter()
            .map(|m| {
                // Content may be a string or a list of text parts.
                let content = match &m["content"] {
                    Value::String(s) => s.clone(),
                    Value::Array(parts) => parts
                        .iter()
                        .filter_map(|p| p["text"].as_str())
                        .collect::<Vec<_>>()
                        .join(""),
                    _ => String::new(),
                };
                json!({"role": m["role"].as_str().unwrap_or("user"), "content": content})
            })
            .collect();
        (Some(messages), String::new())
    } else {
        let prompt = match &v["prompt"] {
            Value::String(s) => s.clone(),
            Value::Array(a) if a.len() == 1 => a[0].as_str().unwrap_or_default().to_owned(),
            _ => return Err("body.prompt: a single string is required".into()),
        };
        (None, prompt)
    };
    let max_tokens = v["max_tokens"]
        .as_u64()
        .or_else(|| v["max_completion_tokens"].as_u64());
    Ok(Parsed {
        model,
        messages,
        prompt,
        max_tokens,
        temperature: v["temperature"].as_f64().unwrap_or(0.7),
        top_p: v["top_p"].as_f64().unwrap_or(0.9),
        stream: v["stream"].as_bool().unwrap_or(false),
    })
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn ids(chat: bool, id: &str) -> (String, &'static str) {
    if chat {
        (format!("chatcmpl-{id}"), "chat.completion")
    } else {
        (format!("cmpl-{id}"), "text_completion")
    }
}

/// A whole (non-streamed) response.
pub fn completion(chat: bool, id: &str, created: u64, model: &str, done: &Generated) -> Value {
    let (id, object) = ids(chat, id);
    let choice = if chat {
        json!({"index": 0, "message": {"role": "assistant", "content": done.text}, "finish_reason": done.finish_reason})
    } else {
        json!({"index": 0, "text": done.text, "logprobs": null, "finish_reason": done.finish_reason})
    };
    json!({
        "id": id,
        "object": object,
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": {
            "prompt_tokens": done.prompt_tokens,
            "completion_tokens": done.completion_tokens,
            "total_tokens": done.prompt_tokens + done.completion_tokens,
        },
    })
}

/// One stream chunk: a piece of text, or the final one with its finish reason.
pub fn chunk(
    chat: bool,
    id: &str,
    created: u64,
    model: &str,
    text: Option<&str>,
    finish: Option<&str>,
    first: bool,
) -> Value {
    let (id, _) = ids(chat, id);
    let choice = if chat {
        let mut delta = json!({});
        if first {
            delta["role"] = json!("assistant");
        }
        if let Some(t) = text {
            delta["content"] = json!(t);
        }
        json!({"index": 0, "delta": delta, "finish_reason": finish})
    } else {
        json!({"index": 0, "text": text.unwrap_or(""), "logprobs": null, "finish_reason": finish})
    };
    json!({
        "id": id,
        "object": if chat { "chat.completion.chunk" } else { "text_completion" },
        "created": created,
        "model": model,
        "choices": [choice],
    })
}

/// One server-sent event.
pub fn sse(v: &Value) -> Vec<u8> {
    format!("data: {v}\n\n").into_bytes()
}

/// `/v1/models`: every healthy model mlx-lm can run, from the cache and the workspace
/// home (named by folder), the loaded one marked.
pub fn models(ctx: &Context, loaded: Option<&str>) -> Value {
    let json = Context {
        json: true,
        ..ctx.clone()
    };
    let argv = vec!["list".to_owned(), "--all".to_owned()];
    let listed = capture_guest(&json, argv, Access::ReadCache, Work::Quick)
        .ok()
        .and_then(|out| serde_json::from_slice::<Value>(&out.stdout).ok())
        .unwrap_or(Value::Null);
    let mut data = Vec::new();
    for m in listed["data"]["models"].as_array().into_iter().flatten() {
        if m["health"] != "healthy" || m["runtime_compatible"] != true {
            continue;
        }
        let workspace = m["cached"] == false;
        let id = if workspace {
            m["display_name"].as_str().or(m["name"].as_str())
        } else {
            m["name"].as_str()
        }
        .unwrap_or_default();
        let is_loaded = loaded.is_some_and(|path| {
            let name = m["name"].as_str().unwrap_or_default();
            if workspace {
                path == name
            } else {
                m["hash"].as_str().is_some_and(|h| path.ends_with(h))
                    && path.contains(&format!("models--{}", name.replace('/', "--")))
            }
        });
        data.push(json!({
            "id": id,
            "object": "model",
            "owned_by": if workspace { "workspace" } else { "mlx-knife-2.0" },
            "permission": [],
            "context_length": m["context_length"],
            "loaded": is_loaded,
        }));
    }
    json!({"object": "list", "data": data})
}
