//! Assembles the gateway: the listener, the routes, the functions, and an orderly shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{any, get};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::api::{Api, Model};
use crate::auth::{Gate, Verifier, require_sigv4};
use crate::config::Config;
use crate::lambda::Function;
use crate::listener::DualListener;
use crate::metrics::Metrics;
use crate::routes::Routes;
use crate::sqs::EventSource;
use crate::{functions, http_api, ids, lambda_api, management, serve, websocket};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Provision(#[from] crate::provision::ProvisionError),
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error(transparent)]
    Functions(#[from] functions::HostError),
}

/// A running gateway.
pub struct Gateway {
    api: Arc<Api>,
    /// Watches the sources for `--build` while the gateway runs.
    _build_watcher: Option<notify::RecommendedWatcher>,
    /// Watches the functions' code (`--watch`); remade with each model.
    code_watcher: std::sync::Mutex<Option<notify::RecommendedWatcher>>,
    addr: SocketAddr,
    server: JoinHandle<()>,
    tls: Option<crate::tls::Tls>,
    /// Functions an earlier reload replaced: stopped with the gateway.
    retired: std::sync::Mutex<Vec<Arc<Function>>>,
    /// The config of the model in place, and the stop of its SQS pollers.
    current: tokio::sync::Mutex<(Config, tokio_util::sync::CancellationToken)>,
}

impl Gateway {
    /// Binds the listener and starts serving; functions start on first use.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        // Tables and queues first: functions and pollers expect them.
        let sdk = if config.sqs.is_empty() && config.provision.is_empty() {
            None
        } else {
            Some(crate::sdk::sdk_config(&config.aws).await)
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
        let tls = if config.tls.enabled {
            let mut names = vec![
                "localhost".to_string(),
                functions::execute_api_host(&api_id, &config.aws.region),
            ];
            names.extend(functions::service_hosts(&config));
            let mut ips: Vec<std::net::IpAddr> =
                vec![[127, 0, 0, 1].into(), std::net::Ipv6Addr::LOCALHOST.into()];
            if !addr.ip().is_unspecified() && !ips.contains(&addr.ip()) {
                ips.push(addr.ip());
            }
            let dir = config
                .tls
                .ca_dir
                .clone()
                .unwrap_or_else(crate::tls::default_ca_dir);
            Some(crate::tls::Tls::setup(&dir, &names, &ips)?)
        } else {
            None
        };
        let host = functions::Host::prepare(&config, addr, &api_id, tls.as_ref())?;
        let metrics = Arc::new(Metrics::default());
        let functions = functions::start(&config, &host, &metrics);
        let routes = Routes::bind(&config, &functions, &metrics);
        let code_watcher = watch_code(&config, &functions);
        let build_watcher = config.build.as_ref().and_then(|command| {
            crate::watch::start_build(command, &config.base_dir)
                .map_err(|e| tracing::warn!("cannot watch the sources for --build: {e}"))
                .ok()
        });
        let current_config = config.clone();
        let vars = &config.api.stage_variables;
        let stage_variables = (!vars.is_empty()).then(|| serde_json::json!(vars));
        let api = Arc::new(Api::new(
            config,
            api_id,
            stage_variables,
            Model { routes, functions },
            metrics,
        ));
        let pollers = api.shutdown.child_token();
        if let Some(sdk) = &sdk {
            start_pollers(&api, &api.config, sdk, &pollers);
        }
        let app = router(&api);
        let stop = api.shutdown.clone();
        let head_timeout = Duration::from_secs(api.config.api.header_timeout_secs);
        let listener = DualListener::new(
            listener,
            tls.as_ref().map(|t| t.server.clone()),
            crate::listener::client_socket_limit(),
            head_timeout,
            stop.clone(),
        );
        let server = tokio::spawn(serve::serve(listener, app, head_timeout, stop));
        tracing::info!(
            "wsgate listening: ws://{addr}/{stage} (management API http://{addr}/{stage}/@connections)",
            stage = api.stage()
        );
        if let Some(tls) = &tls {
            tracing::info!(
                "TLS on the same port: wss://{addr}/{stage}, https://{addr}/{stage}/@connections (CA: {})",
                tls.ca_path.display(),
                stage = api.stage()
            );
        }
        Ok(Self {
            api,
            _build_watcher: build_watcher,
            code_watcher: std::sync::Mutex::new(code_watcher),
            addr,
            server,
            tls,
            retired: std::sync::Mutex::default(),
            current: tokio::sync::Mutex::new((current_config, pollers)),
        })
    }

    /// Puts a changed template or config in place: functions whose settings
    /// changed get fresh instances, new ones start on first use, removed ones
    /// stop once idle; routes and SQS mappings follow. Open sockets stay open.
    /// The stage, the listener and TLS need a restart: such a change is refused.
    pub async fn reload(&self, config: Config) -> Result<String, String> {
        let mut current = self.current.lock().await;
        let (old, _) = &*current;
        if config.tls.enabled != old.tls.enabled {
            return Err("TLS was turned on or off: that needs a restart".into());
        }
        let stage_changed = config.api.stage != old.api.stage;
        let sqs_changed = format!("{:?}", config.sqs) != format!("{:?}", old.sqs);
        let uses_aws = !(config.sqs.is_empty() && config.provision.is_empty());
        let sdk = if uses_aws {
            let sdk = crate::sdk::sdk_config(&config.aws).await;
            crate::provision::provision(&sdk, &config.provision)
                .await
                .map_err(|e| e.to_string())?;
            Some(sdk)
        } else {
            None
        };
        let host =
            functions::Host::prepare(&config, self.addr, &self.api.api_id, self.tls.as_ref())
                .map_err(|e| e.to_string())?;
        let before = self.api.model();
        let specs = functions::specs(&config, &host);
        let mut changed = Vec::new();
        let functions: std::collections::BTreeMap<String, Arc<Function>> = specs
            .into_iter()
            .map(|(name, spec)| {
                let same = before
                    .functions
                    .get(&name)
                    .filter(|f| format!("{:?}", f.spec()) == format!("{spec:?}"));
                let function = match same {
                    Some(f) => f.clone(),
                    None => {
                        changed.push(name.clone());
                        Function::new(spec, self.api.metrics.clone())
                    }
                };
                (name, function)
            })
            .collect();
        let routes = Routes::bind(&config, &functions, &self.api.metrics);
        let replaced = self.api.replace_model(Model {
            routes,
            functions: functions.clone(),
        });
        // Functions no longer in use finish what they hold, then stop.
        for (name, old_fn) in &replaced.functions {
            if !functions.get(name).is_some_and(|f| Arc::ptr_eq(f, old_fn)) {
                old_fn.reload("replaced by the reloaded model");
                self.retired.lock().unwrap().push(old_fn.clone());
            }
        }
        if sqs_changed {
            current.1.cancel();
            current.1 = self.api.shutdown.child_token();
            if let Some(sdk) = &sdk {
                start_pollers(&self.api, &config, sdk, &current.1);
            }
        }
        if config.watch {
            *self.code_watcher.lock().unwrap() = watch_code(&config, &functions);
        }
        // A renamed stage: the old one no longer exists, so its sockets close
        // (1001, with their $disconnect); clients reconnect to the new name.
        if stage_changed {
            self.api.set_stage(&config.api.stage);
            let (code, reason) = crate::connections::close::GOING_AWAY;
            for conn in self.api.connections.list(usize::MAX) {
                conn.send(crate::connections::Outbound::Close {
                    code,
                    reason: reason.into(),
                })
                .await;
            }
        }
        current.0 = config;
        let summary = format!(
            "{} function(s), {} changed or new ({}), {} SQS mapping(s)",
            functions.len(),
            changed.len(),
            changed.join(", "),
            current.0.sqs.len()
        );
        Ok(summary)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The local certificate authority's certificate, when TLS is on.
    pub fn ca_cert(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().map(|t| t.ca_path.as_path())
    }

    /// `ws://HOST:PORT/{stage}`
    pub fn ws_url(&self) -> String {
        format!("ws://{}/{}", self.addr, self.api.stage())
    }

    /// The management API's endpoint, as SDK clients take it: `http://HOST:PORT/{stage}`.
    pub fn management_endpoint(&self) -> String {
        format!("http://{}/{}", self.addr, self.api.stage())
    }

    pub fn api_id(&self) -> &str {
        &self.api.api_id
    }

    pub fn function(&self, name: &str) -> Option<Arc<Function>> {
        self.api.model().functions.get(name).cloned()
    }

    pub fn connection_count(&self) -> usize {
        self.api.connections.len()
    }

    /// Closes every connection (each gets its `$disconnect`), then stops the functions.
    pub async fn shutdown(self) {
        tracing::info!(
            "shutting down: closing {} connection(s)",
            self.api.connections.len()
        );
        self.api.shutdown.cancel();
        self.api.sessions.close();
        // $disconnect calls are bounded by the integration timeout.
        let grace = self.api.config.api.integration_timeout() + Duration::from_secs(2);
        if tokio::time::timeout(grace, self.api.sessions.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not finish their $disconnect in time");
        }
        self.api.pollers.close();
        // A batch being handled is finished (or fails and is retried later).
        let batches = Duration::from_secs(
            self.api
                .config
                .functions
                .values()
                .map(|f| f.timeout_secs)
                .max()
                .unwrap_or(0)
                + 2,
        );
        if tokio::time::timeout(batches, self.api.pollers.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "some SQS batches were still running; their messages will be delivered again"
            );
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
        let retired = std::mem::take(&mut *self.retired.lock().unwrap());
        for function in self.api.model().functions.values().chain(&retired) {
            function.shutdown().await;
        }
        tracing::info!("wsgate stopped");
    }
}

/// Watches the functions' code when `--watch` is on.
fn watch_code(
    config: &Config,
    functions: &std::collections::BTreeMap<String, Arc<Function>>,
) -> Option<notify::RecommendedWatcher> {
    if !config.watch {
        return None;
    }
    crate::watch::start(config, functions)
        .map_err(|e| tracing::warn!("cannot watch the functions' code: {e}"))
        .ok()
}

/// The pollers of every SQS mapping in `config`, stopped by `stop`.
fn start_pollers(
    api: &Arc<Api>,
    config: &Config,
    sdk: &aws_config::SdkConfig,
    stop: &tokio_util::sync::CancellationToken,
) {
    let model = api.model();
    for mapping in &config.sqs {
        let function = model.functions[&mapping.function].clone();
        let source = EventSource::new(
            mapping.clone(),
            function,
            sdk,
            config.aws.clone(),
            api.metrics.clone(),
        );
        source.spawn(stop, &api.pollers);
    }
}

/// The gateway's one listener: the WebSocket stage, `@connections`, the HTTP routes.
fn router(api: &Arc<Api>) -> Router {
    // Bodies above the POST limit must still reach the handler to get AWS's 413.
    let body_limit = api.config.api.max_message_bytes * 2 + 1024;
    let limit = DefaultBodyLimit::max(body_limit);
    let mut management = Router::new()
        .route("/{stage}/@connections/{id}", any(management::handle))
        .route("/@connections/{id}", any(management::handle))
        .with_state(api.clone());
    let mut lambda = lambda_api::router(api);
    if api.config.api.sigv4 {
        let verifier = Arc::new(Verifier::new(&api.config.aws.region));
        let gate = |service, max_body, too_large| Gate {
            verifier: verifier.clone(),
            service,
            max_body,
            too_large,
        };
        let signed_by = gate(
            "execute-api",
            api.config.api.max_message_bytes,
            management::too_large,
        );
        management = management.layer(from_fn_with_state(signed_by, require_sigv4));
        let signed_by = gate("lambda", lambda_api::MAX_PAYLOAD, lambda_api::too_large);
        lambda = lambda.layer(from_fn_with_state(signed_by, require_sigv4));
    }
    let management = management.layer(from_fn_with_state(api.clone(), management::count));
    let mut router = Router::new()
        .route("/{stage}", get(websocket::upgrade))
        .route("/_wsgate/metrics", get(metrics_text))
        .fallback(websocket::unrouted)
        .with_state(api.clone())
        .merge(management)
        .layer(limit)
        .merge(http_api::router(api).layer(limit))
        .merge(lambda);
    if api.config.api.serve_at_root && api.config.http.static_dir.is_none() {
        router = router.merge(
            Router::new()
                .route("/", get(websocket::upgrade_at_root))
                .with_state(api.clone()),
        );
    }
    if api.config.api.inspector {
        router = router.merge(crate::inspector::router(api));
    }
    // Outermost: a function's call to an AWS service name never reaches the API's routes.
    if let Some(hosts) = crate::aws_hosts::ServiceHosts::new(&api.config) {
        router = router.layer(from_fn_with_state(hosts, crate::aws_hosts::forward));
    }
    router
}

/// `GET /_wsgate/metrics`: the Prometheus text format.
async fn metrics_text(
    axum::extract::State(api): axum::extract::State<Arc<Api>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        api.metrics.render(),
    )
        .into_response()
}
