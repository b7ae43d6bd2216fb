//! The token side of authentication: the `$connect` authorizer and `POST /token`.

use serde_json::{Value, json};

use crate::settings::Settings;
use crate::token;

pub type Error = lambda_runtime::Error;

/// The REQUEST authorizer: `?token=` must be a valid token; its subject becomes
/// `userId` in the connection's authorizer context. A bad token is denied (403).
pub fn authorizer(settings: &Settings, event: &Value) -> Result<Value, Error> {
    let token = event["queryStringParameters"]["token"]
        .as_str()
        .unwrap_or_default();
    if token.is_empty() {
        // The gateway answers 401 before calling us; this is the same answer.
        return Err("Unauthorized".into());
    }
    let resource = event["methodArn"].as_str().unwrap_or("*");
    let (principal, effect, context) = match token::verify(settings.secret()?, token, token::now())
    {
        Ok(claims) => (claims.sub.clone(), "Allow", json!({ "userId": claims.sub })),
        Err(e) => {
            tracing::info!("denied: {e}");
            (
                "anonymous".to_string(),
                "Deny",
                json!({ "reason": e.to_string() }),
            )
        }
    };
    Ok(json!({
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{ "Action": "execute-api:Invoke", "Effect": effect, "Resource": resource }]
        },
        "context": context,
    }))
}

/// `POST /token` (an HTTP API route, payload 2.0): `{"userId":"1234"}` → `{"token":…}`.
/// A stand-in for a real login: anyone can have a token for any user.
pub fn token(settings: &Settings, event: &Value) -> Result<Value, Error> {
    let body: Value = event["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    let user = body["userId"].as_str().map(str::trim).unwrap_or_default();
    let reply = |status: u16, body: Value| {
        json!({
            "statusCode": status,
            "headers": { "content-type": "application/json" },
            "body": body.to_string(),
        })
    };
    if user.is_empty() {
        return Ok(reply(400, json!({ "message": "userId is required" })));
    }
    let ttl = settings.token_ttl_secs;
    let token = token::mint(settings.secret()?, user, token::now(), ttl);
    Ok(reply(
        200,
        json!({ "token": token, "userId": user, "expiresIn": ttl }),
    ))
}
