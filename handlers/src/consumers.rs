//! The queue consumers: `NotifyUser` fans out, `NotifyConnection` pushes.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};

use crate::batch::each_record;
use crate::messages::{NotifyConnection, NotifyUser};
use crate::push::{PushError, Pusher};
use crate::queue::Notifier;
use crate::store::ConnectionStore;

/// `NotifyUser`: one `NotifyConnection` message per socket of the user.
/// A user with no sockets is not an error; malformed records fail alone.
pub async fn notify_user(
    store: &ConnectionStore,
    notifier: &Notifier,
    event: SqsEvent,
) -> SqsBatchResponse {
    each_record(event, |record| async move {
        let message = NotifyUser::parse(record.body.as_deref().unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let ids = store
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
        notifier.notify_all(&out).await.map_err(|e| e.to_string())
    })
    .await
}

/// `NotifyConnection`: posts the data to the socket. A gone socket's record is
/// deleted and the message counts as handled.
pub async fn notify_connection(
    store: &ConnectionStore,
    pusher: &Pusher,
    event: SqsEvent,
) -> SqsBatchResponse {
    each_record(event, |record| async move {
        let message = NotifyConnection::parse(record.body.as_deref().unwrap_or_default())
            .map_err(|e| e.to_string())?;
        match pusher.post(&message.connection_id, message.text()).await {
            Ok(()) => Ok(()),
            Err(PushError::Gone(id)) => {
                tracing::info!(connection = %id, "gone: deleting its stale record");
                store.delete(&id).await.map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        }
    })
    .await
}
