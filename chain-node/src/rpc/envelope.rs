//! The JSON-RPC 2.0 envelope: a request body in, calls dispatched, a reply body out.
//! Batches are bounded while they are parsed, so a body of a million tiny calls
//! costs no more than [`MAX_BATCH`] parsed calls.

use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};

use super::methods::{RpcError, dispatch};
use crate::node::Node;

/// Most calls in one batch.
pub const MAX_BATCH: usize = 1000;

/// What answering a request body produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    /// HTTP status: 200, or 204 when every call was a notification.
    pub(crate) status: u16,
    /// The reply body (empty with 204).
    pub(crate) body: String,
    /// Whether a `stop` call ran.
    pub(crate) stop: bool,
}

/// A request body: one call or a batch.
enum Payload {
    Single(Value),
    Batch(Vec<Value>),
}

struct PayloadVisitor;

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = Payload;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a request object or a batch of at most {MAX_BATCH} calls"
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Payload, A::Error> {
        let mut calls = Vec::new();
        while let Some(call) = seq.next_element::<Value>()? {
            if calls.len() == MAX_BATCH {
                return Err(de::Error::custom(format!(
                    "a batch may hold at most {MAX_BATCH} calls"
                )));
            }
            calls.push(call);
        }
        Ok(Payload::Batch(calls))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Payload, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Payload::Single)
    }

    // Any other JSON value is a call without a method.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Payload, E> {
        Ok(Payload::Single(Value::Null))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Payload, E> {
        Ok(Payload::Single(Value::Null))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Payload, E> {
        Ok(Payload::Single(Value::Null))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Payload, E> {
        Ok(Payload::Single(Value::Null))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Payload, E> {
        Ok(Payload::Single(Value::Null))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Payload, E> {
        Ok(Payload::Single(Value::Null))
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PayloadVisitor)
    }
}

/// The JSON-RPC error object for `id`.
pub(crate) fn error_body(id: Value, e: &RpcError) -> String {
    error_value(id, e).to_string()
}

fn error_value(id: Value, e: &RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message}})
}

/// Parses `body`, runs its calls in order and builds the reply.
pub(crate) fn answer(node: &Node, body: &[u8]) -> Answer {
    let reply = |body: String| Answer {
        status: 200,
        body,
        stop: false,
    };
    let payload = match serde_json::from_slice::<Payload>(body) {
        Ok(p) => p,
        // Only the visitor raises data errors: a batch over the bound.
        Err(e) if e.is_data() => {
            return reply(error_body(
                Value::Null,
                &RpcError::invalid_request(e.to_string()),
            ));
        }
        Err(e) => return reply(error_body(Value::Null, &RpcError::parse(e.to_string()))),
    };
    let mut stop = false;
    let out = match payload {
        Payload::Batch(calls) if calls.is_empty() => {
            return reply(error_body(
                Value::Null,
                &RpcError::invalid_request("empty batch"),
            ));
        }
        Payload::Batch(calls) => {
            let replies: Vec<Value> = calls
                .iter()
                .filter_map(|c| call(node, c, &mut stop))
                .collect();
            (!replies.is_empty()).then_some(Value::Array(replies))
        }
        Payload::Single(single) => call(node, &single, &mut stop),
    };
    match out {
        Some(v) => Answer {
            status: 200,
            body: v.to_string(),
            stop,
        },
        // Only notifications: JSON-RPC 2.0 sends no response body.
        None => Answer {
            status: 204,
            body: String::new(),
            stop,
        },
    }
}

/// Runs one call; `None` for a JSON-RPC 2.0 notification (no `id`), which gets no reply.
fn call(node: &Node, request: &Value, stop: &mut bool) -> Option<Value> {
    let notification = request.get("jsonrpc") == Some(&json!("2.0")) && request.get("id").is_none();
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return Some(error_value(
            id,
            &RpcError::invalid_request("missing method"),
        ));
    };
    let params = request
        .get("params")
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    if method == "stop" {
        *stop = true;
    }
    let reply = match dispatch(node, method, &params) {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(e) => error_value(id, &e),
    };
    (!notification).then_some(reply)
}
