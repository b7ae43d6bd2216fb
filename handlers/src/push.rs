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
        match self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(data))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                e if e.is_gone_exception() => Err(PushError::Gone(connection_id.into())),
                e => Err(PushError::Failed {
                    id: connection_id.into(),
                    message: aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e)
                        .to_string(),
                }),
            },
        }
    }

    pub async fn close(&self, connection_id: &str) -> Result<(), PushError> {
        match self
            .client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                e if e.is_gone_exception() => Err(PushError::Gone(connection_id.into())),
                e => Err(PushError::Failed {
                    id: connection_id.into(),
                    message: aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e)
                        .to_string(),
                }),
            },
        }
    }
}
