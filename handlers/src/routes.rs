//! The WebSocket route handlers: `$connect`, `$disconnect`, `authorize`, `ping`, `$default`.

use serde_json::{Value, json};

use crate::app::App;
use crate::settings::AuthMode;
use crate::store::ConnectionRecord;
use crate::token;
use crate::ws_event::{self, response};

/// Errors a route handler reports to the runtime (API Gateway answers them with 500/502).
pub type Error = lambda_runtime::Error;

fn connection_id(event: &Value) -> Result<String, Error> {
    ws_event::connection_id(event)
        .map(str::to_string)
        .ok_or_else(|| crate::fail("the event has no requestContext.connectionId"))
}

fn body(event: &Value) -> Value {
    event["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null)
}

/// `$connect`: records the socket. Whose it is depends on the mode: the
/// authorizer's context, `?userId=`, or nobody yet (it must send `authorize`).
pub async fn connect(app: &App, event: Value) -> Result<Value, Error> {
    let id = connection_id(&event)?;
    let connected_at = event["requestContext"]["connectedAt"]
        .as_i64()
        .unwrap_or_default();
    let from_authorizer = ws_event::authorizer(&event, "userId");
    let user = match app.settings.auth_mode {
        AuthMode::Authorizer => {
            if from_authorizer.is_none() {
                tracing::error!("AUTH_MODE is authorizer, but $connect has no authorizer context");
                return Ok(response(401, "Unauthorized"));
            }
            from_authorizer
        }
        AuthMode::Query => from_authorizer.or_else(|| ws_event::query(&event, "userId")),
        AuthMode::Action => {
            let record = ConnectionRecord {
                connection_id: id.clone(),
                user_id: None,
                connected_at,
                authorized: false,
            };
            app.store.put(&record).await?;
            // The grace period: a delayed message closes the socket if it has not authorized by then.
            app.closings
                .send_delayed(&json!({ "connectionId": id }), app.settings.auth_grace_secs)
                .await?;
            return Ok(response(
                200,
                "Connected; authorize within the grace period",
            ));
        }
    };
    let Some(user_id) = user.filter(|u| !u.trim().is_empty()) else {
        return Ok(response(400, "userId is required"));
    };
    let record = ConnectionRecord {
        connection_id: id,
        user_id: Some(user_id),
        connected_at,
        authorized: true,
    };
    app.store.put(&record).await?;
    Ok(response(200, "Connected"))
}

/// `$disconnect`: forgets the socket.
pub async fn disconnect(app: &App, event: Value) -> Result<Value, Error> {
    app.store.delete(&connection_id(&event)?).await?;
    Ok(response(200, "Disconnected"))
}

/// In `action` mode, a socket must have authorized before anything else; true when it may go on.
async fn may_act(app: &App, id: &str) -> Result<bool, Error> {
    if app.settings.auth_mode != AuthMode::Action {
        return Ok(true);
    }
    let authorized = app.store.get(id).await?.is_some_and(|r| r.authorized);
    if !authorized {
        let message = r#"Not authorized: send {"action":"authorize","token":"…"} first"#;
        app.reply(id, json!({ "action": "error", "message": message }))
            .await?;
    }
    Ok(authorized)
}

/// `authorize`: `{"action":"authorize","token":"…"}` makes the socket its user's.
pub async fn authorize(app: &App, event: Value) -> Result<Value, Error> {
    let id = connection_id(&event)?;
    let token = body(&event)["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let verdict = token::verify(app.settings.secret()?, &token, token::now());
    let data = match verdict {
        Ok(claims) => {
            if !app.store.authorize(&id, &claims.sub).await? {
                return Ok(response(410, "Gone"));
            }
            json!({ "action": "authorized", "userId": claims.sub })
        }
        Err(e) => json!({ "action": "error", "message": format!("Not authorized: {e}") }),
    };
    app.reply(&id, data).await?;
    Ok(response(200, "OK"))
}

/// `ping`: `{"action":"ping","name":"Stepan"}` → a pong greeting the name, through the queue.
pub async fn ping(app: &App, event: Value) -> Result<Value, Error> {
    let id = connection_id(&event)?;
    if !may_act(app, &id).await? {
        return Ok(response(403, "Forbidden"));
    }
    let name = body(&event)["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("stranger")
        .to_string();
    app.reply(
        &id,
        json!({ "action": "pong", "message": format!("Hello, {name}!") }),
    )
    .await?;
    Ok(response(200, "OK"))
}

/// `$default`: tells the client its action is not implemented, through the queue.
pub async fn default(app: &App, event: Value) -> Result<Value, Error> {
    let id = connection_id(&event)?;
    if !may_act(app, &id).await? {
        return Ok(response(403, "Forbidden"));
    }
    let message = match &body(&event)["action"] {
        Value::String(action) => format!("Action \"{action}\" is not implemented"),
        Value::Null => "This message has no action; actions implemented: ping".to_string(),
        other => format!("Action {other} is not implemented"),
    };
    app.reply(&id, json!({ "action": "error", "message": message }))
        .await?;
    Ok(response(200, "OK"))
}
