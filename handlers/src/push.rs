//! Pushing to a socket through the API Gateway management API.
//!
//! The endpoint is `AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`
//! (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}` on AWS; wsgate sets it locally).

use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::primitives::Blob;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// 410: the socket is closed; its record is stale.
    #[error("connection {0} is gone")]
    Gone(String),
    #[error("cannot push to {id}: {message}")]
    Failed { id: String, message: String },
}

#[derive(Clone)]
pub struct Pusher {
    client: Client,
}

impl Pusher {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(config),
        }
    }

    pub async fn post(&self, connection_id: &str, data: String) -> Result<(), PushError> {
        let sent = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(data))
            .send()
            .await;
        outcome(
            connection_id,
            sent.map(drop).map_err(|e| e.into_service_error().into()),
        )
    }

    pub async fn close(&self, connection_id: &str) -> Result<(), PushError> {
        let sent = self
            .client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await;
        outcome(
            connection_id,
            sent.map(drop).map_err(|e| e.into_service_error().into()),
        )
    }
}

/// 410 is `Gone`; anything else is a failure worth retrying.
fn outcome(
    id: &str,
    result: Result<(), aws_sdk_apigatewaymanagement::Error>,
) -> Result<(), PushError> {
    match result {
        Ok(()) => Ok(()),
        Err(aws_sdk_apigatewaymanagement::Error::GoneException(_)) => {
            Err(PushError::Gone(id.into()))
        }
        Err(e) => Err(PushError::Failed {
            id: id.into(),
            message: aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e).to_string(),
        }),
    }
}
