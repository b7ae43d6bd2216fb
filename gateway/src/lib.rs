//! wsgate: the AWS API Gateway WebSocket API, run locally.
//!
//! The gateway holds the sockets, selects routes, runs their integrations (Lambda
//! functions as local processes behind the Lambda Runtime API, AWS services, HTTP
//! backends, MOCKs, with mapping templates), serves the `@connections`
//! management API and drives SQS-triggered functions.
//!
//! # Layout
//!
//! Imports point one way, down this list: nothing imports `server.rs`, the
//! handlers share `api.rs` and never each other, `apigw/` and `lambda/` know
//! nothing of the handlers (and `lambda/` nothing of API Gateway).
//!
//! ```text
//! main.rs            CLI → Config | template | serverless.yml → Gateway
//! discover.rs        which description to run when none is named
//! server.rs          Gateway::start / shutdown: the listener, the router, the lifecycle
//! listener.rs        one port for plain HTTP and TLS, told apart by the first byte;
//!                    client sockets counted against the open-file limit
//! serve.rs           HTTP/1.1 on each connection: upgrades, the request-head timeout
//! client_head.rs     what hyper drops of a request head: header names' spelling,
//!                    TLS or not, the port the client used
//! tls.rs             the local certificate authority and this run's certificate
//! api.rs             the shared state: limits, routes, functions, connections, shutdown
//! routes.rs          routes bound to integrations; route selection; $connect's authorizer
//! functions.rs       the functions' specs, with the endpoints this gateway gives them
//! hosts.rs           the execute-api host name inside function processes (LD_PRELOAD)
//! aws_hosts.rs       AWS service names from function processes, passed to the backend
//! layers.rs          Lambda layers as /opt lays them out, through each runtime's variables
//! node/              nodejs* functions: aws-lambda-ric, the SDK from the runtime folder
//! websocket/         upgrade.rs (RFC 6455's HTTP side) · handshake.rs ($connect,
//!                    authorizer) · session.rs (frames, limits, close, $disconnect) ·
//!                    dispatch.rs (one message: route → reply)
//! integrations/      what a route leads to, any of API Gateway's five types, one
//!                    pipeline (mod.rs): request parameters → request template →
//!                    the backend → integration response → response template;
//!                    lambda.rs (AWS_PROXY, AWS to Lambda; proxy responses for
//!                    routes, HTTP and the authorizer) · service.rs (AWS services,
//!                    SigV4) · http.rs (HTTP, HTTP_PROXY) · mock.rs · mapping.rs
//!                    (selections and templates, no I/O) · client.rs (outbound HTTP)
//! vtl/               API Gateway's Velocity dialect: parsed at load, rendered per
//!                    request; `$input`, `$context`, `$util`, `$stageVariables`
//! connections.rs     open connections by id; the channel into each session; close codes
//! management.rs      @connections POST / GET / DELETE
//! http_api.rs        HTTP routes (payload 2.0) and static files beside the API
//! lambda_api.rs      the Lambda API: Invoke, GetFunction, ListFunctions
//! auth.rs            SigV4 on @connections and the Lambda API: the known credentials
//! sigv4.rs           SigV4 itself, no I/O: the canonical request, the signature
//! apigw/             API Gateway's shapes, no I/O: events, route selection,
//!                    authorizer policies, handshake headers, error bodies
//! lambda/            functions as processes: function.rs · pool.rs · queue.rs ·
//!                    invocation.rs · instance.rs · runtime_api.rs · process.rs · spec.rs
//! sqs/               event source mappings: poll, invoke with batches, delete
//! provision.rs       tables, queues, topics, state machines created when missing
//! sdk.rs             the AWS SDK config the gateway itself uses
//! memory.rs          freed memory handed back to the system after a burst
//! logs.rs            the log's two formats: human lines, or JSON objects
//! watch.rs           hot reload: a function whose code changes gets fresh instances
//! metrics.rs         counters and histograms for `/_wsgate/metrics`
//! journal.rs         the last frames and invocations, while the inspector looks
//! inspector.rs       `/_wsgate/`: the live inspector's page, its state and actions
//! config/            wsgate.toml: types (values parsed at load), checks, `${VAR}`
//! template/          a SAM / CloudFormation template as a Config
//! serverless/        a Serverless Framework service file as a template: variables,
//!                    then the CloudFormation the framework would deploy
//! ids.rs             ids shaped like AWS's
//! dirs.rs            where per-user state lives (the CA, the Node runtime folder); files written whole
//! setup/             runtimes (Node, Python) and the default backend (MiniStack),
//!                    installed into the cache on first need; MiniStack started
//! ```
//!
//! # The life of a message
//!
//! One text frame from a client to its integration (here a function) and back,
//! in six steps:
//!
//! 1. `websocket/session.rs`: the session's loop reads the frame (limits, idle
//!    timer) and hands it to a task of its own.
//! 2. `websocket/dispatch.rs`: `routes.rs` selects the route, `apigw/events.rs`
//!    builds the MESSAGE event.
//! 3. `integrations/mod.rs`: runs the route's integration within the integration
//!    timeout; a Lambda proxy (`integrations/lambda.rs`) invokes the function and
//!    parses its proxy response; other types render their request template
//!    (`vtl/`) and call their backend (`service.rs`, `http.rs`, `mock.rs`, or a
//!    function without the proxy), then select and render the integration response.
//! 4. `lambda/function.rs` + `lambda/pool.rs` (for a function): `invoke` queues the
//!    invocation (a oneshot for its answer) in its owner's lane (`lambda/queue.rs`:
//!    connections take turns) and starts an instance if none is free.
//! 5. `lambda/runtime_api.rs` + `lambda/instance.rs`: the function's process asks
//!    `GET …/invocation/next`; the instance takes the invocation from the pool and
//!    holds it; `POST …/{id}/response` answers the oneshot.
//! 6. `connections.rs`: back in dispatch, a route response (or an error frame) is
//!    queued on the connection's channel, which the session (1) writes to the socket.
//!
//! `@connections` pushes take the last step only: `management.rs` queues on the
//! connection's channel.

mod api;
mod apigw;
mod auth;
mod aws_hosts;
mod client_head;
pub mod config;
mod connections;
mod dirs;
pub mod discover;
mod functions;
mod hosts;
mod http_api;
mod ids;
mod inspector;
mod integrations;
mod journal;
mod lambda;
mod lambda_api;
mod layers;
mod listener;
pub mod logs;
mod management;
pub mod memory;
mod metrics;
mod node;
mod provision;
mod routes;
mod sdk;
mod serve;
mod server;
pub mod serverless;
pub mod setup;
mod sigv4;
mod sqs;
pub mod template;
mod tls;
mod vtl;
pub mod watch;
mod websocket;

pub use config::Config;
pub use lambda::FORCE_PORTABLE_PROCESSES;
pub use server::Gateway;
