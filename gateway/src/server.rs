//! Assembles the gateway: the listener, the routes, the functions, and an orderly shutdown.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::authorizer::IdentitySource;
use crate::config::Config;
use crate::http_api::{self, HttpRoute};
use crate::lambda::{Function, FunctionSpec};
use crate::registry::Registry;
use crate::routing::RouteSelector;
use crate::sqs::EventSource;
use crate::{ids, management, ws};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Provision(#[from] crate::provision::ProvisionError),
}

pub struct Route {
    pub function: Arc<Function>,
    pub route_response: bool,
    pub authorizer: Option<Authorizer>,
}

pub struct Authorizer {
    pub function: Arc<Function>,
    pub sources: Vec<IdentitySource>,
}

/// What every request handler shares.
pub struct Shared {
    pub config: Config,
    pub api_id: String,
    pub selector: RouteSelector,
    pub routes: HashMap<String, Route>,
    pub functions: BTreeMap<String, Arc<Function>>,
    pub registry: Registry,
    /// Cancelled when the gateway shuts down; connections close on it.
    pub shutdown: CancellationToken,
    /// The connections' tasks, so shutdown can wait for their `$disconnect`.
    pub connections: TaskTracker,
    /// The SQS pollers, so shutdown can let their batches finish.
    pub pollers: TaskTracker,
}

/// A running gateway.
pub struct Gateway {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Gateway {
    /// Binds the listener and starts serving; functions start on first use.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        // Tables and queues first: functions and pollers expect them.
        let sdk = if config.sqs.is_empty()
            && config.provision.tables.is_empty()
            && config.provision.queues.is_empty()
        {
            None
        } else {
            Some(crate::aws::sdk_config(&config.aws).await)
        };
        if let Some(sdk) = &sdk {
            crate::provision::provision(sdk, &config.provision).await?;
        }
        let listen = config.api.listen;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: listen,
            source,
        })?;
        let api_id = config.api.api_id.clone().unwrap_or_else(ids::api_id);
        let functions: BTreeMap<String, Arc<Function>> = config
            .functions
            .keys()
            .map(|name| {
                (
                    name.clone(),
                    Function::new(function_spec(&config, name, addr, &api_id)),
                )
            })
            .collect();
        let routes = config
            .routes
            .iter()
            .map(|(key, r)| {
                let authorizer = r.authorizer.as_ref().map(|name| {
                    let a = &config.authorizers[name];
                    Authorizer {
                        function: functions[&a.function].clone(),
                        sources: a
                            .identity_source
                            .iter()
                            .map(|s| IdentitySource::parse(s).expect("checked when loaded"))
                            .collect(),
                    }
                });
                let route = Route {
                    function: functions[&r.function].clone(),
                    route_response: r.route_response,
                    authorizer,
                };
                (key.clone(), route)
            })
            .collect();
        let selector = RouteSelector::parse(&config.api.route_selection_expression)
            .expect("checked when the config was loaded");
        let shared = Arc::new(Shared {
            config,
            api_id,
            selector,
            routes,
            functions,
            registry: Registry::default(),
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
            pollers: TaskTracker::new(),
        });
        if let Some(sdk) = &sdk {
            for mapping in &shared.config.sqs {
                let function = shared.functions[&mapping.function].clone();
                let source =
                    EventSource::new(mapping.clone(), function, sdk, shared.config.aws.clone());
                source.spawn(&shared.shutdown, &shared.pollers);
            }
        }
        let app = router(shared.clone());
        let stop = shared.shutdown.clone();
        let server = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            // Frames are small and latency matters more than packing them.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let result = axum::serve(listener, service)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(e) = result {
                tracing::error!("the gateway's listener failed: {e}");
            }
        });
        tracing::info!(
            "wsgate listening: ws://{addr}/{stage} (management API http://{addr}/{stage}/@connections)",
            stage = shared.config.api.stage
        );
        Ok(Self {
            shared,
            addr,
            server,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://HOST:PORT/{stage}`
    pub fn ws_url(&self) -> String {
        format!("ws://{}/{}", self.addr, self.shared.config.api.stage)
    }

    /// The management API's endpoint, as SDK clients take it: `http://HOST:PORT/{stage}`.
    pub fn management_endpoint(&self) -> String {
        format!("http://{}/{}", self.addr, self.shared.config.api.stage)
    }

    pub fn api_id(&self) -> &str {
        &self.shared.api_id
    }

    pub fn function(&self, name: &str) -> Option<Arc<Function>> {
        self.shared.functions.get(name).cloned()
    }

    pub fn connection_count(&self) -> usize {
        self.shared.registry.len()
    }

    /// Closes every connection (each gets its `$disconnect`), then stops the functions.
    pub async fn shutdown(self) {
        tracing::info!(
            "shutting down: closing {} connection(s)",
            self.shared.registry.len()
        );
        self.shared.shutdown.cancel();
        self.shared.connections.close();
        // $disconnect calls are bounded by the integration timeout.
        let grace = self.shared.config.api.integration_timeout() + Duration::from_secs(2);
        if tokio::time::timeout(grace, self.shared.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not finish their $disconnect in time");
        }
        self.shared.pollers.close();
        // A batch being handled is finished (or fails and is retried later).
        let batches = Duration::from_secs(
            self.shared
                .config
                .functions
                .values()
                .map(|f| f.timeout_secs)
                .max()
                .unwrap_or(0)
                + 2,
        );
        if tokio::time::timeout(batches, self.shared.pollers.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "some SQS batches were still running; their messages will be delivered again"
            );
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
        for function in self.shared.functions.values() {
            function.shutdown().await;
        }
        tracing::info!("wsgate stopped");
    }
}

fn router(shared: Arc<Shared>) -> Router {
    // Bodies above the POST limit must still reach the handler to get AWS's 413.
    let body_limit = shared.config.api.max_message_bytes * 2 + 1024;
    let mut app = Router::new();
    for (key, r) in &shared.config.http.routes {
        let (method, path) = key.split_once(' ').expect("checked when loaded");
        let method: axum::http::Method = method.parse().expect("checked when loaded");
        let route = Arc::new(HttpRoute {
            route_key: key.clone(),
            function: shared.functions[&r.function].clone(),
        });
        let handler = axum::routing::on(
            axum::routing::MethodFilter::try_from(method).expect("a standard method"),
            http_api::handle,
        )
        .with_state((shared.clone(), route));
        app = app.route(path, handler);
    }
    if let Some(dir) = &shared.config.http.static_dir {
        app = app
            .nest_service("/web", tower_http::services::ServeDir::new(dir))
            .route(
                "/",
                get(|| async { axum::response::Redirect::temporary("/web/") }),
            );
    }
    app.route("/{stage}", get(ws::upgrade))
        .route("/{stage}/@connections/{id}", any(management::handle))
        .route("/@connections/{id}", any(management::handle))
        .fallback(management::forbidden)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(shared)
}

/// A function's process environment: what Lambda sets, the AWS endpoints, then its own.
fn function_spec(config: &Config, name: &str, addr: SocketAddr, api_id: &str) -> FunctionSpec {
    // Bound to every interface (in a container): functions reach it on loopback.
    let addr = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let f = &config.functions[name];
    let aws = &config.aws;
    let arn = format!(
        "arn:aws:lambda:{}:{}:function:{name}",
        aws.region, aws.account_id
    );
    let working_dir = f
        .working_dir
        .clone()
        .unwrap_or_else(|| config.base_dir.clone());
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    // A Lambda sandbox has a clean environment; only what tools need to run comes along.
    for key in [
        "PATH",
        "HOME",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ] {
        if let Ok(value) = std::env::var(key) {
            env.insert(key.into(), value);
        }
    }
    let mut set = |k: &str, v: String| {
        env.insert(k.into(), v);
    };
    set("LANG", "C.UTF-8".into());
    set("TZ", ":UTC".into());
    set("AWS_REGION", aws.region.clone());
    set("AWS_DEFAULT_REGION", aws.region.clone());
    set("AWS_LAMBDA_FUNCTION_NAME", name.into());
    set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into());
    set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", f.memory_mb.to_string());
    set("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"));
    set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into());
    set("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into());
    set(
        "LAMBDA_TASK_ROOT",
        working_dir.to_string_lossy().into_owned(),
    );
    set("_HANDLER", f.handler.clone().unwrap_or_else(|| name.into()));
    // Functions reach this gateway's @connections API; never a global AWS_ENDPOINT_URL,
    // which would send DynamoDB and SQS calls here too.
    set(
        "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI",
        format!("http://{addr}/{}", config.api.stage),
    );
    if let Some(endpoint) = &aws.endpoint_url {
        set("AWS_ENDPOINT_URL_DYNAMODB", endpoint.clone());
        set("AWS_ENDPOINT_URL_SQS", endpoint.clone());
        // moto and LocalStack accept any credentials, but the SDKs want some.
        env.entry("AWS_ACCESS_KEY_ID".into())
            .or_insert_with(|| "test".into());
        env.entry("AWS_SECRET_ACCESS_KEY".into())
            .or_insert_with(|| "test".into());
    }
    // This API's AWS URLs (a template's `https://${Api}.execute-api…`) are this gateway here.
    let aws_host = format!("{api_id}.execute-api.{}.amazonaws.com", aws.region);
    for (k, v) in &f.env {
        let local = v
            .replace(&format!("https://{aws_host}"), &format!("http://{addr}"))
            .replace(&format!("wss://{aws_host}"), &format!("ws://{addr}"));
        env.insert(k.clone(), local);
    }
    FunctionSpec {
        name: name.into(),
        command: f.command.clone(),
        env: env.into_iter().collect(),
        working_dir,
        timeout: Duration::from_secs(f.timeout_secs),
        memory_mb: f.memory_mb,
        max_concurrency: f.max_concurrency,
        arn,
    }
}
