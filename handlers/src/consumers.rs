//! The queue consumers: `NotifyUser` fans out, `NotifyConnection` pushes.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};

use serde_json::{Value, json};

use crate::app::App;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::batch::{each_record, failures};
use crate::messages::{NotifyConnection, NotifyUser};
use crate::push::PushError;

/// `NotifyUser`: one `NotifyConnection` message per socket of the user.
/// A user with no sockets is not an error; malformed records fail alone.
/// The batch is handled as a whole: one GSI query per user in it (not per
/// message), and every record's messages sent together, ten to a call.
pub async fn notify_user(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    let mut wanted: Vec<(String, NotifyUser)> = Vec::new();
    for record in event.records {
        let id = record.message_id.unwrap_or_default();
        match NotifyUser::parse(record.body.as_deref().unwrap_or_default()) {
            Ok(message) => wanted.push((id, message)),
            Err(e) => {
                failed.insert(id, e.to_string());
            }
        }
    }
    let users: BTreeSet<&str> = wanted.iter().map(|(_, m)| m.user_id.as_str()).collect();
    let sockets: HashMap<&str, Result<Vec<String>, String>> =
        futures::future::join_all(users.into_iter().map(|user| async move {
            let ids = app.store.connections_of(user).await;
            (user, ids.map_err(|e| e.to_string()))
        }))
        .await
        .into_iter()
        .collect();
    let mut out = Vec::new();
    let mut record_of = Vec::new();
    for (id, message) in &wanted {
        match &sockets[message.user_id.as_str()] {
            Ok(ids) => {
                tracing::info!(user = %message.user_id, sockets = ids.len(), "notifying user");
                for connection_id in ids {
                    out.push(NotifyConnection {
                        connection_id: connection_id.clone(),
                        data: message.data.clone(),
                    });
                    record_of.push(id);
                }
            }
            Err(e) => {
                failed.insert(id.clone(), e.clone());
            }
        }
    }
    // Boxed: the SDK's nested futures are too deep a type for the compiler's default limit.
    for (index, e) in Box::pin(app.notifications.send_each(&out)).await {
        failed.insert(record_of[index].clone(), e.to_string());
    }
    failures(failed)
}

/// `NotifyConnection`: posts the data to the socket. A gone socket's record is
/// deleted and the message counts as handled.
pub async fn notify_connection(app: &App, event: SqsEvent) -> SqsBatchResponse {
    each_record(event, |record| async move {
        let message = NotifyConnection::parse(record.body.as_deref().unwrap_or_default())
            .map_err(|e| e.to_string())?;
        match app
            .pusher
            .post(&message.connection_id, message.text())
            .await
        {
            Ok(()) => Ok(()),
            Err(PushError::Gone(id)) => {
                tracing::info!(connection = %id, "gone: deleting its stale record");
                app.store.delete(&id).await.map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        }
    })
    .await
}

/// `CloseUnauthorized` (delayed by the grace period): closes a socket that has
/// not authorized by now, telling it why. Authorized or gone sockets are left alone.
pub async fn close_unauthorized(app: &App, event: SqsEvent) -> SqsBatchResponse {
    each_record(event, |record| async move {
        let body: Value = serde_json::from_str(record.body.as_deref().unwrap_or_default())
            .map_err(|e| format!("malformed CloseUnauthorized message: {e}"))?;
        let id = body["connectionId"]
            .as_str()
            .ok_or("malformed CloseUnauthorized message: no connectionId")?;
        let still_unauthorized = app
            .store
            .get(id)
            .await
            .map_err(|e| e.to_string())?
            .is_some_and(|r| !r.authorized);
        if !still_unauthorized {
            return Ok(());
        }
        let why = json!({
            "action": "error",
            "message": format!("Not authorized within {} s: closing", app.settings.auth_grace_secs),
        });
        tracing::info!(connection = %id, "closing: not authorized in time");
        for step in [
            app.pusher.post(id, why.to_string()).await,
            app.pusher.close(id).await,
        ] {
            match step {
                Ok(()) | Err(PushError::Gone(_)) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    })
    .await
}
