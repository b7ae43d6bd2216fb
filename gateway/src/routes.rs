//! The WebSocket API's routes, bound to their integrations: `$connect` (with its
//! authorizer), `$disconnect`, `$default` and the routes selected by key.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::apigw::authorizer::IdentitySource;
use crate::apigw::selection::RouteSelector;
use crate::config::Config;
use crate::integrations::{Binder, Integration, Signer};
use crate::lambda::Function;
use crate::metrics::Metrics;

/// A route and the integration it leads to.
pub struct Route {
    pub key: String,
    pub integration: Arc<Integration>,
    /// A two-way route: the integration's answer goes back to the client.
    pub route_response: bool,
    /// Request validation against the route's models, where it has some.
    pub validation: Option<Validation>,
    /// Messages that selected it (`wsgate_route_selections_total`).
    pub selected: prometheus_client::metrics::counter::Counter,
}

/// How a route picks a model for a message, and the models.
pub struct Validation {
    /// `$request.body.<path>`; None for a fixed key.
    selector: Option<RouteSelector>,
    fixed: String,
    models: BTreeMap<String, Arc<jsonschema::Validator>>,
}

impl Validation {
    /// True when the message passes the model it selects, else `$default`'s.
    /// As on AWS, with no matching model and no `$default`, validation fails;
    /// a body that is not JSON never passes a model.
    pub fn accepts(&self, body: &str) -> bool {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
            return false;
        };
        let key = match &self.selector {
            Some(selector) => selector.select_in(&value),
            None => Some(self.fixed.clone()),
        };
        let model = key
            .and_then(|k| self.models.get(&k))
            .or_else(|| self.models.get("$default"));
        model.is_some_and(|model| model.is_valid(&value))
    }
}

/// A REQUEST authorizer, as bound to `$connect`.
pub struct Authorizer {
    pub function: Arc<Function>,
    pub sources: Vec<IdentitySource>,
}

/// `$connect`, its authorizer and its API keys.
pub struct ConnectRoute {
    pub route: Route,
    pub authorizer: Option<Authorizer>,
    /// With `ApiKeyRequired`: the keys `x-api-key` must hold one of.
    pub api_keys: Option<Vec<String>>,
}

pub struct Routes {
    /// Messages no route took.
    pub unrouted: prometheus_client::metrics::counter::Counter,
    pub connect: Option<ConnectRoute>,
    pub disconnect: Option<Route>,
    selector: RouteSelector,
    default: Option<Route>,
    by_key: HashMap<String, Route>,
}

impl Routes {
    /// Binds the config's routes to the functions (names were checked at load).
    pub fn bind(
        config: &Config,
        functions: &BTreeMap<String, Arc<Function>>,
        metrics: &Arc<Metrics>,
    ) -> Self {
        let signer = Signer::new(&config.aws);
        let binder = Binder {
            functions,
            signer: &signer,
            metrics,
        };
        let route = |key: &str| {
            let r = config.routes.get(key)?;
            let name = r.integration.as_deref().unwrap_or(key);
            let bound = config
                .route_integration(r)
                .ok_or_else(|| "no integration".to_string())
                .and_then(|i| Integration::bind(name, &i, &binder));
            let integration = match bound {
                Ok(i) => Arc::new(i),
                Err(e) => {
                    // Checked at load: only a config built past the checks gets here.
                    tracing::error!(route = key, "the route is not served: {e}");
                    return None;
                }
            };
            Some(Route {
                key: key.to_string(),
                integration,
                route_response: r.route_response,
                validation: validation(config, r),
                selected: metrics.route(key),
            })
        };
        let connect = route("$connect").map(|route| {
            let authorizer = config.routes["$connect"].authorizer.as_ref().map(|name| {
                let a = &config.authorizers[name];
                Authorizer {
                    function: functions[&a.function].clone(),
                    sources: a.identity_source.clone(),
                }
            });
            let api_keys = config.routes["$connect"]
                .api_key_required
                .then(|| config.api.api_keys.clone());
            ConnectRoute {
                route,
                authorizer,
                api_keys,
            }
        });
        let by_key = config
            .routes
            .keys()
            .filter(|key| !key.starts_with('$'))
            .filter_map(|key| Some((key.clone(), route(key)?)))
            .collect();
        Self {
            unrouted: metrics.route("none"),
            connect,
            disconnect: route("$disconnect"),
            selector: config.api.route_selection_expression.clone(),
            default: route("$default"),
            by_key,
        }
    }

    /// The route a text message selects: its key's route, else `$default`
    /// (a message can never select `$connect` or `$disconnect`). None: no route
    /// takes it, and the client gets `Forbidden`.
    pub fn select(&self, message: &str) -> Option<&Route> {
        self.selector
            .select(message)
            .and_then(|key| self.by_key.get(&key))
            .or(self.default.as_ref())
    }
}

/// A route's models, bound by name (checked at load).
fn validation(config: &Config, route: &crate::config::RouteConfig) -> Option<Validation> {
    if route.request_models.is_empty() {
        return None;
    }
    let expression = route.model_selection_expression.clone().unwrap_or_default();
    Some(Validation {
        selector: RouteSelector::parse(&expression).ok(),
        fixed: expression,
        models: route
            .request_models
            .iter()
            .map(|(key, name)| (key.clone(), config.models[name].validator.clone()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model(schema: serde_json::Value) -> Arc<jsonschema::Validator> {
        Arc::new(jsonschema::draft4::new(&schema).unwrap())
    }

    #[test]
    fn a_message_is_checked_against_the_model_it_selects() {
        let validation = Validation {
            selector: RouteSelector::parse("$request.body.kind").ok(),
            fixed: String::new(),
            models: BTreeMap::from([(
                "note".to_string(),
                model(json!({"type": "object", "required": ["text"]})),
            )]),
        };
        assert!(validation.accepts(r#"{"kind":"note","text":"hi"}"#));
        assert!(!validation.accepts(r#"{"kind":"note"}"#));
        // No matching model and no $default: validation fails, as on AWS.
        assert!(!validation.accepts(r#"{"kind":"other","text":"hi"}"#));
        assert!(!validation.accepts("not json"));
    }
}
