//! A Rust function that fans work out as code written for AWS does: it invokes
//! the function named in `NEIGHBOUR` with the aws-sdk-rust Lambda client (no
//! endpoint in the code) and answers with what the neighbour returned.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_sdk_lambda::primitives::Blob;
use lambda_runtime::{Error, LambdaEvent, service_fn};

async fn handler(
    event: LambdaEvent<ApiGatewayWebsocketProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let lambda = aws_sdk_lambda::Client::new(&shared);
    let out = lambda
        .invoke()
        .function_name(std::env::var("NEIGHBOUR")?)
        .payload(Blob::new(event.payload.body.unwrap_or_default()))
        .send()
        .await
        .map_err(|e| aws_sdk_lambda::error::DisplayErrorContext(e).to_string())?;
    let answer = out
        .payload()
        .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
        .unwrap_or_default();
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = 200;
    response.body = Some(aws_lambda_events::encodings::Body::Text(format!(
        "{} {answer}",
        out.status_code()
    )));
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
