//! `@connections` and the Lambda API take only SigV4-signed requests, as on AWS:
//! signed by credentials the gateway knows, for its region and the right service.

use std::time::{Duration, SystemTime};

use crate::binary::run_wsgate_with;
use crate::common::*;

/// The aws CLI with these credentials (and region), asking for a connection
/// that does not exist: GoneException means the signature was accepted.
async fn cli_get(endpoint: &str, env: &[(&str, &str)]) -> String {
    let out = tokio::process::Command::new(testkit::venv_program("aws"))
        .args([
            "apigatewaymanagementapi",
            "get-connection",
            "--endpoint-url",
            endpoint,
            "--connection-id",
            "AAAAAAAAAAAAAAA=",
        ])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_PAGER", "")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn error_type(head: &str) -> String {
    head.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-amzn-errortype: ")
                .map(str::to_string)
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn unsigned_forged_and_misscoped_requests_are_refused() {
    let gw = start(PROBE_APP).await;
    let addr = gw.gateway.local_addr();
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    let path = format!("/test/@connections/{}", path_id(&id));

    // Unsigned: AWS's words exactly.
    let (status, head, body) = http_with(addr, "POST", &path, &[], "unsigned").await;
    assert_eq!(status, 403, "{head}");
    assert_eq!(body, r#"{"message":"Missing Authentication Token"}"#);
    assert_eq!(error_type(&head), "missingauthenticationtokenexception");

    // A bearer token is not a signature.
    let bearer = [("authorization", "Bearer abc.def.ghi")];
    let (status, head, _) = http_with(addr, "POST", &path, &bearer, "bearer").await;
    assert_eq!(
        (status, error_type(&head).as_str()),
        (403, "incompletesignatureexception")
    );

    let url = format!("http://{addr}{path}");
    let host = addr.to_string();
    let sign = |body: &str, service: &str, time: SystemTime| {
        testkit::sigv4_headers_at(
            "POST",
            &url,
            &[("host", &host)],
            body.as_bytes(),
            service,
            time,
        )
    };
    let send = async |headers: Vec<(String, String)>, body: &str| {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        http_with(addr, "POST", &path, &headers, body).await
    };

    // Signed for one body, sent with another.
    let (status, head, body) = send(sign("hi", "execute-api", SystemTime::now()), "ho").await;
    assert_eq!(
        (status, error_type(&head).as_str()),
        (403, "invalidsignatureexception"),
        "{body}"
    );
    assert!(
        body.contains("does not match the signature you provided"),
        "{body}"
    );

    // Signed for another service, or long ago.
    // Each with a body of its own: one that slipped through would arrive before the good one.
    let (status, _, body) = send(
        sign("wrong service", "lambda", SystemTime::now()),
        "wrong service",
    )
    .await;
    assert_eq!(status, 403);
    assert!(body.contains("correct service: 'execute-api'"), "{body}");
    let old = SystemTime::now() - Duration::from_secs(20 * 60);
    let (status, _, body) = send(sign("too old", "execute-api", old), "too old").await;
    assert_eq!(status, 403);
    assert!(body.contains("Signature expired"), "{body}");

    // Nothing of the refused ones arrived; a good one does.
    let (status, _, _) = send(sign("hi", "execute-api", SystemTime::now()), "hi").await;
    assert_eq!(status, 200);
    assert_eq!(next_text(&mut ws).await, "hi");

    // The Lambda API too.
    let invoke = "/2015-03-31/functions/probe/invocations";
    let (status, head, body) = http_with(addr, "POST", invoke, &[], "{}").await;
    assert_eq!(status, 403, "{head}");
    assert_eq!(body, r#"{"message":"Missing Authentication Token"}"#);

    // A client signing for another region.
    let endpoint = gw.gateway.management_endpoint();
    let creds = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];
    let mut elsewhere = creds.to_vec();
    elsewhere.push(("AWS_DEFAULT_REGION", "eu-west-1"));
    let said = cli_get(&endpoint, &elsewhere).await;
    assert!(
        said.contains("InvalidSignatureException") && said.contains("'eu-west-1'"),
        "{said}"
    );
    // Unknown credentials.
    let said = cli_get(
        &endpoint,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDSOMEONEELSE"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
        ],
    )
    .await;
    assert!(said.contains("UnrecognizedClientException"), "{said}");
    // The local pair.
    let said = cli_get(&endpoint, &creds).await;
    assert!(said.contains("GoneException"), "{said}");
    gw.gateway.shutdown().await;
}

/// Credentials from the gateway's own environment are accepted: a key pair in
/// its variables, or a profile from its credentials file.
#[tokio::test(flavor = "multi_thread")]
async fn the_gateways_own_credentials_sign_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        "[dev]\naws_access_key_id = AKIDFROMPROFILE\naws_secret_access_key = profile-secret\n",
    )
    .unwrap();
    let file = file.to_string_lossy().into_owned();
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIDFROMENV"),
        ("AWS_SECRET_ACCESS_KEY", "env-secret"),
    ];
    let running = run_wsgate_with(PROBE_APP, &[], &env).await;
    let endpoint = running.url.replacen("ws://", "http://", 1);
    let said = cli_get(&endpoint, &env).await;
    assert!(said.contains("GoneException"), "{said}");
    drop(running);

    let profile = [
        ("AWS_PROFILE", "dev"),
        ("AWS_SHARED_CREDENTIALS_FILE", file.as_str()),
    ];
    let running = run_wsgate_with(PROBE_APP, &[], &profile).await;
    let endpoint = running.url.replacen("ws://", "http://", 1);
    let said = cli_get(&endpoint, &profile).await;
    assert!(said.contains("GoneException"), "{said}");
    let said = cli_get(
        &endpoint,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDFROMPROFILE"),
            ("AWS_SECRET_ACCESS_KEY", "wrong"),
        ],
    )
    .await;
    assert!(said.contains("InvalidSignatureException"), "{said}");
}

/// `--no-sigv4` takes anything, as before.
#[tokio::test(flavor = "multi_thread")]
async fn no_sigv4_accepts_unsigned_requests() {
    let running = run_wsgate_with(PROBE_APP, &["--no-sigv4"], &[]).await;
    let addr: std::net::SocketAddr = running
        .url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (status, head, _) = http_with(
        addr,
        "GET",
        "/test/@connections/AAAAAAAAAAAAAAA%3D",
        &[],
        "",
    )
    .await;
    assert_eq!(status, 410, "{head}");
}
