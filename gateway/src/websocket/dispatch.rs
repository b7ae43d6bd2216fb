//! One text message: select its route, build the MESSAGE event, run the route's
//! integration (whatever its type), and answer where AWS would (a route
//! response, or an error frame).
//! Answers go through the connection's channel, which its session writes.

use std::sync::Arc;

use crate::api::Api;
use crate::apigw::errors;
use crate::apigw::events::{self, now_ms};
use crate::connections::{Connection, Outbound};
use crate::ids;

/// Routes one text message and answers where AWS would.
pub async fn message(api: Arc<Api>, conn: Arc<Connection>, body: String) {
    let id = &conn.info.connection_id;
    let request_id = ids::aws_id();
    let model = api.model();
    let Some(route) = model.routes.select(&body) else {
        model.routes.unrouted.inc();
        let frame = errors::forbidden_frame(id, &request_id);
        conn.send(Outbound::Text(frame)).await;
        return;
    };
    route.selected.inc();
    if let Some(validation) = &route.validation
        && !validation.accepts(&body)
    {
        // As API Gateway: the function is not invoked.
        let frame = errors::error_frame("Invalid request body", id, &request_id);
        conn.send(Outbound::Text(frame)).await;
        return;
    }
    let event = events::message_event(
        &conn.info,
        &route.key,
        &ids::aws_id(),
        &request_id,
        &body,
        now_ms(),
    );
    let timeout = api.integration_timeout();
    match route
        .integration
        .run_for(&event, timeout, Some(&conn.owner))
        .await
    {
        Ok(response) if route.route_response => {
            if let Some(body) = response.body {
                conn.send(Outbound::Text(body)).await;
            }
        }
        Ok(_) => {}
        // The connection closed while it waited: nobody to answer.
        Err(e) if e.is_abandoned() => {}
        Err(e) => {
            // A throttle is logged by the function, once a second, not per message.
            if !e.is_throttle() {
                tracing::warn!(connection = %id, route = %route.key, "{e}");
            }
            let frame = errors::error_frame(e.client_message(), id, &request_id);
            conn.send(Outbound::Text(frame)).await;
        }
    }
}
