//! The benchmarks' function: does nothing but answer. A message's body comes
//! back as the route response (`whoami` answers with the connection id), so
//! what is measured is the gateway and the Runtime API, not the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let event = event.payload;
    let body = event["body"].as_str().unwrap_or_default();
    if body.contains("whoami") {
        let id = &event["requestContext"]["connectionId"];
        return Ok(json!({ "statusCode": 200, "body": json!({ "connectionId": id }).to_string() }));
    }
    Ok(json!({ "statusCode": 200, "body": body }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
