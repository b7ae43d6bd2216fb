//! The state every request handler shares: the API's limits and ids, its routes
//! and functions, the open connections, and the shutdown signal. It imports no
//! handler; `server.rs` builds it and hands it to each of them.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::connections::Connections;
use crate::lambda::Function;
use crate::metrics::Metrics;
use crate::routes::Routes;

pub struct Api {
    /// The loaded config: limits (`config.api`), AWS settings, HTTP routes.
    pub config: Config,
    /// `requestContext.apiId`.
    pub api_id: String,
    /// `stageVariables` for events, made once (None when the stage has none).
    pub stage_variables: Option<serde_json::Value>,
    /// Routes and functions; replaced whole when the template or config is
    /// reloaded (`--watch`), so a message sees one model or the other.
    model: RwLock<Arc<Model>>,
    /// The stage's name: `config.api.stage` until a reload renames it.
    stage: RwLock<Arc<str>>,
    pub connections: Connections,
    /// Cancelled when the gateway shuts down; sessions close on it.
    pub shutdown: CancellationToken,
    /// The sessions' tasks, so shutdown can wait for their `$disconnect`.
    pub sessions: TaskTracker,
    /// The SQS pollers, so shutdown can let their batches finish.
    pub pollers: TaskTracker,
    /// What `/_wsgate/metrics` reports.
    pub metrics: Arc<Metrics>,
    /// An SQS client for the inspector's queue figures, made on first use.
    pub sqs: tokio::sync::OnceCell<aws_sdk_sqs::Client>,
}

/// The API's routes bound to its functions.
pub struct Model {
    pub routes: Routes,
    pub functions: BTreeMap<String, Arc<Function>>,
}

impl Api {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Config,
        api_id: String,
        stage_variables: Option<serde_json::Value>,
        model: Model,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            stage: RwLock::new(Arc::from(config.api.stage.as_str())),
            config,
            api_id,
            stage_variables,
            model: RwLock::new(Arc::new(model)),
            connections: Connections::default(),
            shutdown: CancellationToken::new(),
            sessions: TaskTracker::new(),
            pollers: TaskTracker::new(),
            metrics,
            sqs: tokio::sync::OnceCell::new(),
        }
    }

    /// The routes and functions now.
    pub fn model(&self) -> Arc<Model> {
        self.model.read().unwrap().clone()
    }

    /// Puts a new model in place; returns the one it replaces.
    pub fn replace_model(&self, model: Model) -> Arc<Model> {
        std::mem::replace(&mut *self.model.write().unwrap(), Arc::new(model))
    }

    /// The stage now (a reload may rename it).
    pub fn stage(&self) -> Arc<str> {
        self.stage.read().unwrap().clone()
    }

    /// Renames the stage: new clients use the new name.
    pub fn set_stage(&self, stage: &str) {
        *self.stage.write().unwrap() = Arc::from(stage);
    }

    pub fn integration_timeout(&self) -> std::time::Duration {
        self.config.api.integration_timeout()
    }
}
