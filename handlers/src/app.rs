//! What every function of the app works with, built once per process.

use serde_json::Value;

use crate::messages::NotifyConnection;
use crate::push::Pusher;
use crate::queue::{Queue, QueueError};
use crate::settings::Settings;
use crate::store::ConnectionStore;

pub struct App {
    pub settings: Settings,
    pub store: ConnectionStore,
    /// `NotifyConnection`: replies and notifications for one socket.
    pub notifications: Queue,
    /// `CloseUnauthorized`: delayed checks of sockets that must authorize.
    pub closings: Queue,
    pub pusher: Pusher,
}

impl App {
    pub fn new(settings: Settings, sdk: &aws_config::SdkConfig) -> Self {
        Self {
            store: ConnectionStore::new(sdk, settings.connections_table.clone()),
            notifications: Queue::new(sdk, settings.notify_connection_queue.clone()),
            closings: Queue::new(sdk, settings.close_unauthorized_queue.clone()),
            pusher: Pusher::new(sdk),
            settings,
        }
    }

    /// From the process environment; a bad setting stops the function at init.
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let settings = Settings::from_env()?;
        Ok(Self::new(settings, &crate::aws_config().await))
    }

    /// Sends `data` to one socket through the `NotifyConnection` queue.
    pub async fn reply(&self, connection_id: &str, data: Value) -> Result<(), QueueError> {
        self.notifications
            .send(&NotifyConnection {
                connection_id: connection_id.to_string(),
                data,
            })
            .await
    }
}
