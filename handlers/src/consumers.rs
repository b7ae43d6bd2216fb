//! The queue consumers: `NotifyUser` fans out, `NotifyConnection` pushes.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};

use serde_json::{Value, json};

use crate::app::App;
use crate::batch::each_record;
use crate::messages::{NotifyConnection, NotifyUser};
use crate::push::PushError;

/// `NotifyUser`: one `NotifyConnection` message per socket of the user.
/// A user with no sockets is not an error; malformed records fail alone.
pub async fn notify_user(app: &App, event: SqsEvent) -> SqsBatchResponse {
    each_record(event, |record| async move {
        let message = NotifyUser::parse(record.body.as_deref().unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let ids = app
            .store
            .connections_of(&message.user_id)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(user = %message.user_id, sockets = ids.len(), "notifying user");
        let out: Vec<_> = ids
            .into_iter()
            .map(|connection_id| NotifyConnection {
                connection_id,
                data: message.data.clone(),
            })
            .collect();
        app.notifications
            .send_all(&out)
            .await
            .map_err(|e| e.to_string())
    })
    .await
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
