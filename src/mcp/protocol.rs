//! The wire of MCP over stdio: JSON-RPC 2.0 messages, one per line. Parses one incoming
//! message (pure, no I/O: a fuzz target can call [`parse_message`] on any bytes), builds
//! responses and errors, and negotiates the protocol revision. Knows nothing of the vault.

use serde_json::{Map, Value, json};

/// The revisions this server speaks, oldest first; the last is the one it prefers.
pub const SUPPORTED_VERSIONS: &[&str] = &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// The largest message accepted, in bytes (a longer line is answered with a parse error).
pub const MAX_MESSAGE_BYTES: usize = 4 << 20;

/// JSON-RPC error codes.
pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// MCP's "resource not found".
pub const RESOURCE_NOT_FOUND: i64 = -32002;

/// One incoming message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request: it gets exactly one response with the same id.
    Request {
        id: Value,
        method: String,
        params: Map<String, Value>,
    },
    /// A notification: never answered.
    Notification {
        method: String,
        params: Map<String, Value>,
    },
    /// A response to a request of ours (this server sends none): ignored.
    Response,
}

/// Why a message could not be read: answered with this error (and `id`, when it had one).
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub id: Value,
    pub code: i64,
    pub message: String,
}

/// Parses one message (one line, without its newline). Errors carry the JSON-RPC code to
/// answer with: a parse error for bytes that are not JSON, an invalid request for JSON
/// that is not a JSON-RPC 2.0 message (batches included: the current revision has none).
pub fn parse_message(bytes: &[u8]) -> Result<Message, RpcError> {
    let err = |id: Value, code: i64, message: String| RpcError { id, code, message };
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(err(
            Value::Null,
            PARSE_ERROR,
            format!("message longer than {MAX_MESSAGE_BYTES} bytes"),
        ));
    }
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| err(Value::Null, PARSE_ERROR, format!("not JSON: {e}")))?;
    let Value::Object(mut m) = v else {
        return Err(err(
            Value::Null,
            INVALID_REQUEST,
            "a message is one JSON object (batches are not supported)".into(),
        ));
    };
    let id = m.remove("id");
    let id_ok = matches!(&id, None | Some(Value::String(_)) | Some(Value::Number(_)));
    let shown_id = id.clone().filter(|_| id_ok).unwrap_or(Value::Null);
    if m.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(err(
            shown_id,
            INVALID_REQUEST,
            "`jsonrpc` must be \"2.0\"".into(),
        ));
    }
    if !id_ok {
        return Err(err(
            Value::Null,
            INVALID_REQUEST,
            "`id` must be a string or a number".into(),
        ));
    }
    let Some(method) = m.remove("method") else {
        if id.is_some() && (m.contains_key("result") || m.contains_key("error")) {
            return Ok(Message::Response);
        }
        return Err(err(shown_id, INVALID_REQUEST, "no `method`".into()));
    };
    let Value::String(method) = method else {
        return Err(err(
            shown_id,
            INVALID_REQUEST,
            "`method` is not a string".into(),
        ));
    };
    let params = match m.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err(err(
                shown_id,
                INVALID_PARAMS,
                "`params` must be an object".into(),
            ));
        }
    };
    Ok(match id {
        Some(id) => Message::Request { id, method, params },
        None => Message::Notification { method, params },
    })
}

/// The revision to answer `initialize` with: the client's when this server speaks it,
/// else the newest this server speaks (the client then decides whether to go on).
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|r| SUPPORTED_VERSIONS.iter().find(|v| **v == r).copied())
        .unwrap_or(SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.len() - 1])
}

/// A success response.
pub fn result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// An error response.
pub fn error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_notifications_and_responses_are_told_apart() {
        let m = parse_message(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
        assert_eq!(
            m,
            Message::Request {
                id: json!(1),
                method: "ping".into(),
                params: Map::new()
            }
        );
        let n = parse_message(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert!(matches!(n, Ok(Message::Notification { .. })));
        let r = parse_message(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#);
        assert_eq!(r, Ok(Message::Response));
    }

    #[test]
    fn bad_messages_get_the_json_rpc_code() {
        assert_eq!(parse_message(b"{nope").unwrap_err().code, PARSE_ERROR);
        assert_eq!(parse_message(b"\xff\xfe").unwrap_err().code, PARSE_ERROR);
        assert_eq!(parse_message(b"[]").unwrap_err().code, INVALID_REQUEST);
        let e = parse_message(br#"{"jsonrpc":"1.0","id":7,"method":"x"}"#).unwrap_err();
        assert_eq!((e.code, e.id), (INVALID_REQUEST, json!(7)));
        let e = parse_message(br#"{"jsonrpc":"2.0","id":{},"method":"x"}"#).unwrap_err();
        assert_eq!((e.code, e.id), (INVALID_REQUEST, Value::Null));
        let e = parse_message(br#"{"jsonrpc":"2.0","id":2,"method":"x","params":[1]}"#);
        assert_eq!(e.unwrap_err().code, INVALID_PARAMS);
    }

    #[test]
    fn the_clients_version_is_kept_when_spoken_else_the_newest() {
        assert_eq!(negotiate(Some("2025-06-18")), "2025-06-18");
        assert_eq!(negotiate(Some("2024-11-05")), "2024-11-05");
        assert_eq!(negotiate(Some("1999-01-01")), "2025-11-25");
        assert_eq!(negotiate(None), "2025-11-25");
    }
}
