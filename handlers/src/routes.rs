//! The WebSocket route handlers: `$connect`, `$disconnect`, `ping`, `$default`.

use serde_json::{Value, json};

use crate::messages::NotifyConnection;
use crate::queue::Notifier;
use crate::store::{ConnectionRecord, ConnectionStore};
use crate::ws_event::{self, response};

/// Errors a route handler reports to the runtime (API Gateway answers them with 500/502).
pub type Error = lambda_runtime::Error;

fn connection_id(event: &Value) -> Result<String, Error> {
    ws_event::connection_id(event)
        .map(str::to_string)
        .ok_or_else(|| crate::fail("the event has no requestContext.connectionId"))
}

/// `$connect`: records the socket under its user. The user comes from the
/// authorizer's context when there is one, else from `?userId=`.
pub async fn connect(store: &ConnectionStore, event: Value) -> Result<Value, Error> {
    let id = connection_id(&event)?;
    let user = ws_event::authorizer(&event, "userId")
        .or_else(|| ws_event::query(&event, "userId"))
        .filter(|u| !u.trim().is_empty());
    let Some(user_id) = user else {
        return Ok(response(400, "userId is required"));
    };
    let connected_at = event["requestContext"]["connectedAt"]
        .as_i64()
        .unwrap_or_default();
    store
        .put(&ConnectionRecord {
            connection_id: id,
            user_id,
            connected_at,
        })
        .await?;
    Ok(response(200, "Connected"))
}

/// `$disconnect`: forgets the socket.
pub async fn disconnect(store: &ConnectionStore, event: Value) -> Result<Value, Error> {
    store.delete(&connection_id(&event)?).await?;
    Ok(response(200, "Disconnected"))
}

fn body(event: &Value) -> Value {
    event["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null)
}

/// `ping`: `{"action":"ping","name":"Stepan"}` → a pong greeting the name, through the queue.
pub async fn ping(notifier: &Notifier, event: Value) -> Result<Value, Error> {
    let id = connection_id(&event)?;
    let name = body(&event)["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("stranger")
        .to_string();
    let data = json!({ "action": "pong", "message": format!("Hello, {name}!") });
    notifier
        .notify(&NotifyConnection {
            connection_id: id,
            data,
        })
        .await?;
    Ok(response(200, "OK"))
}

/// `$default`: tells the client its action is not implemented, through the queue.
pub async fn default(notifier: &Notifier, event: Value) -> Result<Value, Error> {
    let id = connection_id(&event)?;
    let message = match &body(&event)["action"] {
        Value::String(action) => format!("Action \"{action}\" is not implemented"),
        Value::Null => "This message has no action; actions implemented: ping".to_string(),
        other => format!("Action {other} is not implemented"),
    };
    let data = json!({ "action": "error", "message": message });
    notifier
        .notify(&NotifyConnection {
            connection_id: id,
            data,
        })
        .await?;
    Ok(response(200, "OK"))
}
