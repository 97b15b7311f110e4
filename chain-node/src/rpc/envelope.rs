//! The JSON-RPC envelope, in the two shapes Bitcoin Core (28 and later) speaks: a
//! request body in, calls run, a reply body and an HTTP status out.
//!
//! A request with `"jsonrpc": "2.0"` is answered in JSON-RPC 2.0 shape: `result` or
//! `error`, never both, HTTP 200 even for an error, and no reply at all (204) to a
//! notification (no `id`). Any other request (no `jsonrpc`, or `"1.0"`) is a legacy
//! request, answered as Core always answered: both `result` and `error`, one of them
//! `null`, and an error sets the HTTP status (404 for an unknown method, 400 for an
//! invalid request, 500 for everything else). A batch is always HTTP 200, each
//! element in its own request's shape; notifications get no element, a batch of
//! notifications only gets 204, and an empty batch gets `[]`. A body that is not
//! JSON, or not an object or array, gets -32700 in legacy shape with HTTP 500.
//!
//! Batches are bounded while they are parsed, so a body of a million tiny calls
//! costs no more than [`MAX_BATCH`] parsed calls; a longer batch is refused whole
//! with -32600 (HTTP 400), a bound Core does not have.

use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::methods::RpcError;

/// Most calls in one batch.
pub const MAX_BATCH: usize = 1000;

/// What answering a request body produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    /// HTTP status.
    pub(crate) status: u16,
    /// The reply body (empty with 204).
    pub(crate) body: String,
    /// Whether a `stop` call ran.
    pub(crate) stop: bool,
}

impl Answer {
    /// A JSON body with `status`.
    fn json(status: u16, body: &Value) -> Answer {
        let mut body = body.to_string();
        body.push('\n');
        Answer {
            status,
            body,
            stop: false,
        }
    }

    /// 204, no body.
    fn no_content() -> Answer {
        Answer {
            status: 204,
            body: String::new(),
            stop: false,
        }
    }
}

/// The shape a request is answered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// No `jsonrpc` member, or `"1.0"`: Core's legacy replies.
    Legacy,
    /// `"jsonrpc": "2.0"`.
    V2,
}

/// A request object as far as it could be read: its `id` (`None` when the member is
/// absent, which is not the same as `null`) and shape are known before anything
/// else can fail, so that errors carry them.
struct Request {
    id: Option<Value>,
    shape: Shape,
    call: Result<(String, Value), RpcError>,
}

impl Request {
    /// Reads one request, in the order Core reads it: id, version, method, params.
    fn read(value: &Value) -> Request {
        let Value::Object(object) = value else {
            return Request {
                id: Some(Value::Null),
                shape: Shape::Legacy,
                call: Err(RpcError::invalid_request("Invalid Request object")),
            };
        };
        let id = object.get("id").cloned();
        let (shape, version_error) = match object.get("jsonrpc") {
            None | Some(Value::Null) => (Shape::Legacy, None),
            Some(Value::String(v)) if v == "2.0" => (Shape::V2, None),
            Some(Value::String(v)) if v == "1.0" => (Shape::Legacy, None),
            Some(Value::String(_)) => (Shape::Legacy, Some("JSON-RPC version not supported")),
            Some(_) => (Shape::Legacy, Some("jsonrpc field must be a string")),
        };
        let call = match version_error {
            Some(message) => Err(RpcError::invalid_request(message)),
            None => method_and_params(object),
        };
        Request { id, shape, call }
    }

    /// A 2.0 request without an `id` gets no reply (even when it is malformed further
    /// on, as in Core).
    fn is_notification(&self) -> bool {
        self.shape == Shape::V2 && self.id.is_none()
    }
}

fn method_and_params(object: &Map<String, Value>) -> Result<(String, Value), RpcError> {
    let method = match object.get("method") {
        None | Some(Value::Null) => return Err(RpcError::invalid_request("Missing method")),
        Some(Value::String(m)) => m.clone(),
        Some(_) => return Err(RpcError::invalid_request("Method must be a string")),
    };
    let params = match object.get("params") {
        None | Some(Value::Null) => Value::Array(Vec::new()),
        Some(p @ (Value::Array(_) | Value::Object(_))) => p.clone(),
        Some(_) => {
            return Err(RpcError::invalid_request(
                "Params must be an array or object",
            ));
        }
    };
    Ok((method, params))
}

/// A request body: one call or a batch.
enum Payload {
    Single(Value),
    Batch(Vec<Value>),
    /// A JSON value that is neither an object nor an array.
    Other,
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

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Payload, E> {
        Ok(Payload::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Payload, E> {
        Ok(Payload::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Payload, E> {
        Ok(Payload::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Payload, E> {
        Ok(Payload::Other)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Payload, E> {
        Ok(Payload::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Payload, E> {
        Ok(Payload::Other)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PayloadVisitor)
    }
}

/// The reply object to a request of `shape` with `id`: exactly one of `result` and
/// `error` in 2.0 shape, both (one `null`) in legacy shape; `id` echoed when the
/// request had one.
fn reply(shape: Shape, id: Option<Value>, outcome: Result<Value, RpcError>) -> Value {
    let mut reply = Map::new();
    if shape == Shape::V2 {
        reply.insert("jsonrpc".into(), Value::from("2.0"));
    }
    match outcome {
        Ok(result) => {
            reply.insert("result".into(), result);
            if shape == Shape::Legacy {
                reply.insert("error".into(), Value::Null);
            }
        }
        Err(e) => {
            if shape == Shape::Legacy {
                reply.insert("result".into(), Value::Null);
            }
            let mut error = Map::new();
            error.insert("code".into(), Value::from(e.code));
            error.insert("message".into(), Value::from(e.message));
            reply.insert("error".into(), Value::Object(error));
        }
    }
    if let Some(id) = id {
        reply.insert("id".into(), id);
    }
    Value::Object(reply)
}

/// The HTTP status of a legacy error reply, as Core maps it.
fn legacy_status(e: &RpcError) -> u16 {
    match e.code {
        RpcError::INVALID_REQUEST => 400,
        RpcError::METHOD_NOT_FOUND => 404,
        _ => 500,
    }
}

/// An error answered before any request was read (HTTP errors of the server, a body
/// that is not JSON): legacy shape, `id` null, the status Core gives the code
/// unless `status` says otherwise.
pub(crate) fn error_answer(e: &RpcError, status: Option<u16>) -> Answer {
    Answer::json(
        status.unwrap_or_else(|| legacy_status(e)),
        &reply(Shape::Legacy, Some(Value::Null), Err(e.clone())),
    )
}

/// Parses `body`, runs its calls in order with `run` (a method name and its
/// parameters in, a result or an error out) and builds the reply.
pub(crate) fn answer(
    body: &[u8],
    mut run: impl FnMut(&str, &Value) -> Result<Value, RpcError>,
) -> Answer {
    let payload = match serde_json::from_slice::<Payload>(body) {
        Ok(p) => p,
        // Only the visitor raises data errors: a batch over the bound.
        Err(e) if e.is_data() => {
            return error_answer(&RpcError::invalid_request(e.to_string()), None);
        }
        Err(_) => return error_answer(&RpcError::parse("Parse error"), None),
    };
    let mut stop = false;
    let mut execute = |method: &str, params: &Value| {
        if method == "stop" {
            stop = true;
        }
        run(method, params)
    };
    let answer = match payload {
        Payload::Other => error_answer(&RpcError::parse("Top-level object parse error"), None),
        Payload::Single(value) => {
            let request = Request::read(&value);
            let notification = request.is_notification();
            match request.call {
                // A request that cannot be read is refused with an HTTP error in
                // either shape, as Core does.
                Err(e) => {
                    Answer::json(legacy_status(&e), &reply(request.shape, request.id, Err(e)))
                }
                Ok((method, params)) => {
                    let outcome = execute(&method, &params);
                    let status = match (&outcome, request.shape) {
                        (Err(e), Shape::Legacy) => legacy_status(e),
                        _ => 200,
                    };
                    if notification {
                        Answer::no_content()
                    } else {
                        Answer::json(status, &reply(request.shape, request.id, outcome))
                    }
                }
            }
        }
        Payload::Batch(values) => {
            let mut replies = Vec::new();
            for value in &values {
                let request = Request::read(value);
                let notification = request.is_notification();
                let outcome = match request.call {
                    Ok((method, params)) => execute(&method, &params),
                    Err(e) => Err(e),
                };
                if !notification {
                    replies.push(reply(request.shape, request.id, outcome));
                }
            }
            if replies.is_empty() && !values.is_empty() {
                Answer::no_content()
            } else {
                Answer::json(200, &Value::Array(replies))
            }
        }
    };
    Answer { stop, ..answer }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use serde_json::json;

    use super::*;

    /// A method table for the envelope alone: `echo` returns its params, `fail`
    /// fails with -8, anything else is unknown.
    fn run(method: &str, params: &Value) -> Result<Value, RpcError> {
        match method {
            "echo" | "stop" => Ok(params.clone()),
            "fail" => Err(RpcError {
                code: -8,
                message: "no".into(),
            }),
            other => Err(RpcError {
                code: RpcError::METHOD_NOT_FOUND,
                message: format!("Method not found: {other}"),
            }),
        }
    }

    fn ask(body: &str) -> (u16, Value) {
        let a = answer(body.as_bytes(), run);
        let v = if a.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&a.body).unwrap()
        };
        (a.status, v)
    }

    #[test]
    fn legacy_and_v2_single_replies_have_their_shapes() {
        assert_eq!(
            ask(r#"{"id":7,"method":"echo","params":[1]}"#),
            (200, json!({"result": [1], "error": null, "id": 7}))
        );
        assert_eq!(
            ask(r#"{"id":"a","method":"fail"}"#),
            (
                500,
                json!({"result": null, "error": {"code": -8, "message": "no"}, "id": "a"})
            )
        );
        assert_eq!(ask(r#"{"id":1,"method":"x"}"#).0, 404);
        assert_eq!(
            ask(r#"{"jsonrpc":"2.0","id":7,"method":"fail"}"#),
            (
                200,
                json!({"jsonrpc": "2.0", "error": {"code": -8, "message": "no"}, "id": 7})
            )
        );
        assert_eq!(
            ask(r#"{"jsonrpc":"2.0","method":"echo"}"#),
            (204, Value::Null)
        );
        assert_eq!(
            ask(r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":"x"}"#).0,
            400
        );
    }

    #[test]
    fn batches_are_200_in_each_elements_shape() {
        let (status, v) = ask(
            r#"[{"id":1,"method":"echo"},{"jsonrpc":"2.0","id":2,"method":"fail"},{"jsonrpc":"2.0","method":"echo"},5]"#,
        );
        assert_eq!(status, 200);
        assert_eq!(
            v,
            json!([
                {"result": [], "error": null, "id": 1},
                {"jsonrpc": "2.0", "error": {"code": -8, "message": "no"}, "id": 2},
                {"result": null, "error": {"code": -32600, "message": "Invalid Request object"}, "id": null},
            ])
        );
        assert_eq!(ask("[]"), (200, json!([])));
        assert_eq!(
            ask(r#"[{"jsonrpc":"2.0","method":"echo"}]"#),
            (204, Value::Null)
        );
    }
}
