//! `GET /_wsgate/metrics`: what happened, in Prometheus's text format.

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

/// The value of a sample line (`name{labels} value`), 0 when absent.
pub fn sample(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(line_start) && l[line_start.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_connections_frames_routes_invocations_and_pushes() {
    let gw = start(PROBE_APP).await;
    let addr = gw.gateway.local_addr();
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    ask(&mut ws, r#"{"action":"echo"}"#).await;
    ws.send(Message::text("not routed anywhere but $default"))
        .await
        .unwrap();
    let encoded = path_id(&id);
    let (status, _, _) = http(
        addr,
        "POST",
        &format!("/test/@connections/{encoded}"),
        "pushed",
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = http_with(
        addr,
        "POST",
        &format!("/test/@connections/{encoded}"),
        &[],
        "x",
    )
    .await;
    assert_eq!(status, 403);
    ws.close(None).await.unwrap();
    gw.disconnect_of(&id).await;

    // A count is taken when an answer is recorded, just after the function logged
    // its event: read the counters once the last invocation ($disconnect's) is in.
    let success = r#"wsgate_invocations_total{function="probe",outcome="success"}"#;
    let (mut status, mut head, mut text) = (0, String::new(), String::new());
    eventually("the four invocations counted", async || {
        (status, head, text) = http(addr, "GET", "/_wsgate/metrics", "").await;
        sample(&text, success) >= 4.0 && sample(&text, "wsgate_connections_open") == 0.0
    })
    .await;
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("openmetrics-text"),
        "{head}"
    );
    let at_least = |line: &str, n: f64| {
        let v = sample(&text, line);
        assert!(v >= n, "{line} = {v}, expected at least {n}:\n{text}");
    };
    at_least("wsgate_connections_opened_total", 1.0);
    assert_eq!(sample(&text, "wsgate_connections_open"), 0.0, "{text}");
    // A close frame without a status: 1005, as in $disconnect.
    at_least(r#"wsgate_connections_closed_total{code="1005"}"#, 1.0);
    at_least("wsgate_frames_in_total", 2.0);
    at_least("wsgate_frames_out_total", 2.0);
    at_least(r#"wsgate_route_selections_total{route="echo"}"#, 1.0);
    at_least(r#"wsgate_route_selections_total{route="$default"}"#, 1.0);
    // $connect, echo, $default and $disconnect, by the same function.
    at_least(
        r#"wsgate_invocations_total{function="probe",outcome="success"}"#,
        4.0,
    );
    at_least(
        r#"wsgate_invocation_duration_seconds_count{function="probe"}"#,
        4.0,
    );
    at_least(r#"wsgate_cold_starts_total{function="probe"}"#, 1.0);
    at_least(
        r#"wsgate_management_requests_total{method="POST",status="200"}"#,
        1.0,
    );
    at_least(
        r#"wsgate_management_requests_total{method="POST",status="403"}"#,
        1.0,
    );
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    gw.gateway.shutdown().await;
}
