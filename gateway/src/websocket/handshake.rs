//! The handshake: `GET /{stage}` runs the authorizer and `$connect`, then
//! upgrades to a session or refuses with the status API Gateway would give.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::session;
use super::upgrade::{self, Upgrade};
use crate::api::Api;
use crate::apigw::authorizer::{self, Decision};
use crate::apigw::events::{self, ConnectionInfo, HandshakeRequest, now_ms};
use crate::apigw::{errors, headers};
use crate::client_head::ClientHead;
use crate::connections::Connection;
use crate::ids;
use crate::integrations;
use crate::routes::{Authorizer, ConnectRoute};

/// `GET /{stage}`: runs `$connect`, then upgrades or refuses.
pub async fn upgrade(
    State(api): State<Arc<Api>>,
    Path(stage): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    if *stage != *api.stage() {
        // Served at the root too, `/anything` is the socket's URL, as serverless-offline has it.
        if api.config.api.serve_at_root && upgrade::is_plain(request.headers()) {
            return upgrade::upgrade_required();
        }
        return errors::forbidden();
    }
    handshake(api, peer, query, request).await
}

/// A GET no route takes: under the stage (`/{stage}/x`) or, served at the root,
/// anywhere, a plain one is told to upgrade, as AWS answers under a stage;
/// everything else is API Gateway's 403.
pub async fn unrouted(State(api): State<Arc<Api>>, request: Request) -> Response {
    let stage_prefix = format!("/{}/", api.stage());
    let under_stage =
        request.uri().path().starts_with(&stage_prefix) || api.config.api.serve_at_root;
    if request.method() == axum::http::Method::GET
        && under_stage
        && upgrade::is_plain(request.headers())
    {
        return upgrade::upgrade_required();
    }
    errors::forbidden()
}

/// `GET /`: the same socket where serverless-offline serves it (for `serverless.yml` input).
pub async fn upgrade_at_root(
    State(api): State<Arc<Api>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    handshake(api, peer, query, request).await
}

async fn handshake(
    api: Arc<Api>,
    peer: SocketAddr,
    query: Option<String>,
    request: Request,
) -> Response {
    let (mut parts, _) = request.into_parts();
    let ws = match Upgrade::from_parts(&mut parts) {
        Ok(ws) => ws,
        Err(refused) => return *refused,
    };
    let now = now_ms();
    let client = parts
        .extensions
        .get::<ClientHead>()
        .cloned()
        .unwrap_or_default();
    let (mut info, request) = describe(&api, peer, &parts.headers, &client, query.as_deref(), now);
    let mut protocol = None;
    let model = api.model();
    if let Some(connect) = &model.routes.connect {
        match run_connect(&api, connect, &mut info, &request, now).await {
            Ok(chosen) => protocol = chosen,
            Err(refused) => return refused,
        }
    }
    accept(api, ws, info, protocol)
}

/// What API Gateway knows of the connection, and the request `$connect` sees.
fn describe(
    api: &Api,
    peer: SocketAddr,
    header_map: &HeaderMap,
    client: &ClientHead,
    query: Option<&str>,
    now: i64,
) -> (ConnectionInfo, HandshakeRequest) {
    let header = |name: &str| header_map.get(name).and_then(|v| v.to_str().ok());
    let info = ConnectionInfo {
        connection_id: ids::aws_id(),
        connected_at_ms: now,
        source_ip: peer.ip().to_string(),
        user_agent: header("user-agent").map(str::to_string),
        domain_name: header("host").unwrap_or("localhost").to_string(),
        stage: api.stage().to_string(),
        api_id: api.api_id.clone(),
        authorizer: None,
        stage_variables: api.stage_variables.clone(),
    };
    let request = HandshakeRequest {
        headers: headers::for_event(header_map, peer, client),
        query: query
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
    };
    (info, request)
}

/// The authorizer, then `$connect`: the subprotocol to accept, or the refusal.
async fn run_connect(
    api: &Api,
    connect: &ConnectRoute,
    info: &mut ConnectionInfo,
    request: &HandshakeRequest,
    now: i64,
) -> Result<Option<String>, Response> {
    let request_id = ids::aws_id();
    if let Some(keys) = &connect.api_keys {
        let given = request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-api-key"))
            .map(|(_, v)| v.as_str());
        if !given.is_some_and(|g| keys.iter().any(|k| k == g)) {
            tracing::info!(connection = %info.connection_id, "$connect refused: no valid API key in x-api-key");
            return Err(errors::handshake_forbidden());
        }
    }
    if let Some(authorizer) = &connect.authorizer {
        match authorize(api, authorizer, info, request, &request_id, now).await {
            Decision::Allow(context) => info.authorizer = Some(context),
            Decision::Unauthorized => return Err(errors::unauthorized()),
            Decision::Forbidden => return Err(errors::handshake_forbidden()),
            Decision::Failed(e) => {
                tracing::warn!(connection = %info.connection_id, "authorizer failed: {e}");
                return Err(errors::authorizer_failed());
            }
        }
    }
    let event = events::connect_event(info, request, &request_id, now);
    let timeout = api.integration_timeout();
    let response = match connect.route.integration.run(&event, timeout).await {
        Ok(response) => response,
        Err(e) => {
            tracing::warn!(connection = %info.connection_id, "$connect failed: {e}");
            return Err(errors::bad_gateway());
        }
    };
    if !response.is_success() {
        tracing::info!(connection = %info.connection_id, status = response.status, "$connect refused the connection");
        let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::BAD_GATEWAY);
        return Err(errors::refuse(status, response.body.unwrap_or_default()));
    }
    // Only the subprotocol goes back to the client, as on AWS.
    Ok(response
        .header("sec-websocket-protocol")
        .map(str::to_string))
}

/// Runs a route's REQUEST authorizer.
async fn authorize(
    api: &Api,
    authorizer: &Authorizer,
    info: &ConnectionInfo,
    request: &HandshakeRequest,
    request_id: &str,
    now: i64,
) -> Decision {
    // A missing identity is refused without invoking the function.
    if !authorizer::has_identity(&authorizer.sources, request) {
        return Decision::Unauthorized;
    }
    let aws = &api.config.aws;
    let arn = authorizer::method_arn(&aws.region, &aws.account_id, info);
    let event = authorizer::request_event(info, request, &arn, request_id, now);
    match integrations::invoke(&authorizer.function, &event, api.integration_timeout()).await {
        Ok(response) => authorizer::evaluate(&response, &arn),
        // The usual way to say 401 from a Node or Python authorizer.
        Err(e) if e.function_message() == Some("Unauthorized") => Decision::Unauthorized,
        Err(e) => Decision::Failed(e.to_string()),
    }
}

/// Registers the connection and answers 101; the session takes it from there.
fn accept(api: Arc<Api>, ws: Upgrade, info: ConnectionInfo, protocol: Option<String>) -> Response {
    let limits = &api.config.api;
    // Small buffers: a socket that waits should cost little memory.
    let config = WebSocketConfig::default()
        .max_frame_size(Some(limits.max_frame_bytes))
        .max_message_size(Some(limits.max_message_bytes))
        .read_buffer_size(4096)
        .write_buffer_size(0);
    // Registered before the 101 goes out: a push that follows $connect at once
    // waits in the channel instead of finding no connection (and a 410).
    let (tx, rx) = mpsc::channel(64);
    let conn = Arc::new(Connection::new(Arc::new(info), tx));
    api.connections.insert(conn.clone());
    let failed = (api.clone(), conn.info.connection_id.clone());
    ws.accept(
        protocol.as_deref(),
        config,
        move |socket| {
            let sessions = api.sessions.clone();
            sessions.track_future(session::run(api, socket, conn, rx))
        },
        move |e| {
            tracing::warn!(connection = %failed.1, "upgrade failed: {e}");
            failed.0.connections.remove(&failed.1);
        },
    )
}
