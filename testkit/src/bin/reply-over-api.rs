//! A Rust WebSocket function as code written for AWS does it: it answers each
//! message through `@connections` with the aws-sdk-rust management client, at
//! `https://{domainName}/{stage}` (AWS's documentation) or, with
//! `ENDPOINT=api-id`, `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_sdk_apigatewaymanagement::primitives::Blob;
use lambda_runtime::{Error, LambdaEvent, service_fn};

async fn handler(
    event: LambdaEvent<ApiGatewayWebsocketProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    let ctx = &event.payload.request_context;
    let stage = ctx.stage.as_deref().unwrap_or_default();
    let endpoint = if std::env::var("ENDPOINT").as_deref() == Ok("api-id") {
        let region = std::env::var("AWS_REGION")?;
        let api = ctx.apiid.as_deref().unwrap_or_default();
        format!("https://{api}.execute-api.{region}.amazonaws.com/{stage}")
    } else {
        let domain = ctx.domain_name.as_deref().unwrap_or_default();
        format!("https://{domain}/{stage}")
    };
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let config = aws_sdk_apigatewaymanagement::config::Builder::from(&shared)
        .endpoint_url(endpoint)
        .build();
    let client = aws_sdk_apigatewaymanagement::Client::from_conf(config);
    let body = event.payload.body.unwrap_or_default();
    client
        .post_to_connection()
        .connection_id(ctx.connection_id.clone().unwrap_or_default())
        .data(Blob::new(format!("echo: {body}")))
        .send()
        .await
        .map_err(|e| aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e).to_string())?;
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = 200;
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
