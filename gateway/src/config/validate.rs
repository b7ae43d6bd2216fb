//! Checks across a config's parts, each named by the key at fault. What a single
//! value must look like (route selection, identity sources, route keys) is
//! checked earlier, when it is parsed into its type.

use std::path::Path;

use super::{AWS_INTEGRATION_TIMEOUT_SECS, Config, ConfigError};

/// `Err((key, message))`: what is wrong, and where.
type Check = Result<(), (String, String)>;

fn fail(key: impl Into<String>, message: impl Into<String>) -> Check {
    Err((key.into(), message.into()))
}

impl Config {
    pub(super) fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        self.check_api()
            .and_then(|()| self.check_functions())
            .and_then(|()| self.check_integrations())
            .and_then(|()| self.check_routes())
            .and_then(|()| self.check_authorizers())
            .and_then(|()| self.check_http())
            .and_then(|()| self.check_sqs())
            .and_then(|()| self.check_provision())
            .map_err(|(key, message)| ConfigError::Invalid {
                path: path.to_owned(),
                key,
                message,
            })
    }

    fn has_function(&self, name: &str, key: String) -> Check {
        if self.functions.contains_key(name) {
            Ok(())
        } else {
            fail(
                key,
                format!("no function `{name}` is defined under [functions]"),
            )
        }
    }

    fn check_api(&self) -> Check {
        let api = &self.api;
        if api.stage.is_empty() || api.stage.contains('/') || api.stage.starts_with('@') {
            return fail(
                "api.stage",
                "must be a non-empty name without `/` that does not start with `@`",
            );
        }
        if api.stage == "web" && self.http.static_dir.is_some() {
            return fail("api.stage", "`web` is where http.static_dir is served");
        }
        if api.integration_timeout_secs == 0
            || api.integration_timeout_secs > AWS_INTEGRATION_TIMEOUT_SECS
        {
            return fail(
                "api.integration_timeout_secs",
                "must be between 1 and 29 seconds (AWS's limit)",
            );
        }
        for (key, value) in [
            ("api.idle_timeout_secs", api.idle_timeout_secs),
            ("api.max_lifetime_secs", api.max_lifetime_secs),
        ] {
            if value == 0 {
                return fail(key, "must be at least 1 second");
            }
        }
        if api.max_frame_bytes == 0 || api.max_message_bytes < api.max_frame_bytes {
            return fail(
                "api.max_message_bytes",
                "must be at least api.max_frame_bytes, and both above 0",
            );
        }
        Ok(())
    }

    fn check_functions(&self) -> Check {
        for (name, f) in &self.functions {
            let key = |k: &str| format!("functions.{name}.{k}");
            if f.command.first().is_none_or(|c| c.is_empty()) && !f.is_node() {
                return match &f.runtime {
                    Some(r) => fail(
                        key("command"),
                        format!(
                            "must name a program to run: runtime `{r}` is not one wsgate runs itself (nodejs* is)"
                        ),
                    ),
                    None => fail(key("command"), "must name a program to run"),
                };
            }
            if f.timeout_secs == 0 || f.timeout_secs > 900 {
                return fail(key("timeout_secs"), "must be between 1 and 900 seconds");
            }
            if !(128..=10240).contains(&f.memory_mb) {
                return fail(key("memory_mb"), "must be between 128 and 10240 MB");
            }
            if f.max_concurrency == 0 {
                return fail(key("max_concurrency"), "must be at least 1");
            }
            // Lambda lays a layer out from its content; a folder that is not there
            // would leave the function without it, silently.
            for layer in &f.layers {
                let folder = self.base_dir.join(layer);
                if !folder.is_dir() {
                    return fail(
                        key("layers"),
                        format!("{} is not a folder", folder.display()),
                    );
                }
            }
        }
        Ok(())
    }

    fn check_routes(&self) -> Check {
        for (route, r) in &self.routes {
            if route.starts_with('$')
                && !matches!(route.as_str(), "$connect" | "$disconnect" | "$default")
            {
                return fail(
                    format!("routes.{route}"),
                    "the only `$` routes are $connect, $disconnect and $default",
                );
            }
            match (&r.function, &r.integration) {
                (Some(_), Some(_)) => {
                    return fail(
                        format!("routes.{route}"),
                        "takes `function` (a Lambda proxy) or `integration`, not both",
                    );
                }
                (None, None) => {
                    return fail(
                        format!("routes.{route}"),
                        "needs `function` (a Lambda proxy) or `integration`",
                    );
                }
                (Some(f), None) => self.has_function(f, format!("routes.{route}.function"))?,
                (None, Some(i)) if !self.integrations.contains_key(i) => {
                    return fail(
                        format!("routes.{route}.integration"),
                        format!("no integration `{i}` is defined under [integrations]"),
                    );
                }
                (None, Some(_)) => {}
            }
            for (key, model) in &r.request_models {
                if !self.models.contains_key(model) {
                    return fail(
                        format!("routes.{route}.request_models.{key}"),
                        format!("no model `{model}` is defined under [models]"),
                    );
                }
            }
            if let Some(expression) = &r.model_selection_expression
                && expression.starts_with('$')
                && expression != "$default"
                && crate::apigw::selection::RouteSelector::parse(expression).is_err()
            {
                return fail(
                    format!("routes.{route}.model_selection_expression"),
                    "must be `$request.body.<path>` or a fixed key",
                );
            }
            if r.api_key_required && route != "$connect" {
                return fail(
                    format!("routes.{route}.api_key_required"),
                    "API keys are checked on $connect only, as on AWS",
                );
            }
            let Some(name) = r.authorizer.as_ref().filter(|a| !a.is_empty()) else {
                continue;
            };
            if route != "$connect" {
                return fail(
                    format!("routes.{route}.authorizer"),
                    "authorizers run on $connect only, as on AWS",
                );
            }
            if !self.authorizers.contains_key(name) {
                return fail(
                    format!("routes.{route}.authorizer"),
                    format!("no authorizer `{name}` is defined under [authorizers]"),
                );
            }
        }
        Ok(())
    }

    fn check_integrations(&self) -> Check {
        use super::IntegrationType as T;
        for (name, i) in &self.integrations {
            let key = |k: &str| format!("integrations.{name}.{k}");
            if let Some(f) = &i.function {
                self.has_function(f, key("function"))?;
            }
            let uri = i.uri.as_deref().unwrap_or_default();
            match i.kind {
                T::AwsProxy if i.function.is_none() => {
                    return fail(
                        key("function"),
                        "an AWS_PROXY integration invokes a function",
                    );
                }
                T::Aws if i.function.is_none() => {
                    match crate::integrations::ServiceUri::parse(uri) {
                        Err(e) => return fail(key("uri"), e.to_string()),
                        Ok(u) => {
                            if let Some(f) = u.lambda_function() {
                                self.has_function(f, key("uri"))?;
                            }
                        }
                    }
                }
                T::Http | T::HttpProxy
                    if !(uri.starts_with("http://") || uri.starts_with("https://")) =>
                {
                    return fail(
                        key("uri"),
                        "an HTTP integration needs an http:// or https:// URL",
                    );
                }
                _ => {}
            }
            if let Some(ms) = i.timeout_ms
                && !(50..=AWS_INTEGRATION_TIMEOUT_SECS * 1000).contains(&ms)
            {
                return fail(
                    key("timeout_ms"),
                    "must be between 50 and 29000 (AWS's limits)",
                );
            }
            if let Some(method) = &i.method
                && method.parse::<axum::http::Method>().is_err()
            {
                return fail(key("method"), format!("`{method}` is not an HTTP method"));
            }
            if i.kind.is_proxy() && (!i.request_templates.is_empty() || !i.responses.is_empty()) {
                return fail(
                    key("request_templates"),
                    "proxy integrations take no mapping templates or integration responses (as on AWS)",
                );
            }
            for (target, source) in &i.request_parameters {
                if let Err(e) = crate::integrations::Parameter::parse(target, source) {
                    return fail(key(&format!("request_parameters.\"{target}\"")), e);
                }
            }
            for response in i.responses.keys() {
                if let Err(e) = crate::integrations::ResponseKey::parse(response) {
                    return fail(key(&format!("responses.\"{response}\"")), e);
                }
            }
        }
        Ok(())
    }

    fn check_authorizers(&self) -> Check {
        for (name, a) in &self.authorizers {
            self.has_function(&a.function, format!("authorizers.{name}.function"))?;
        }
        Ok(())
    }

    fn check_http(&self) -> Check {
        for (key, r) in &self.http.routes {
            let key_name = format!("http.routes.\"{}\"", key.as_str());
            let first = key
                .path()
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or_default();
            if first == self.api.stage || first == "web" || first.starts_with('@') {
                return fail(
                    key_name,
                    "must not start with the stage, `web` or `@connections`",
                );
            }
            self.has_function(&r.function, format!("{key_name}.function"))?;
        }
        Ok(())
    }

    fn check_sqs(&self) -> Check {
        for (i, m) in self.sqs.iter().enumerate() {
            let key = |k: &str| format!("sqs[{i}].{k}");
            self.has_function(&m.function, key("function"))?;
            if m.queue.is_empty() {
                return fail(key("queue"), "must name a queue");
            }
            if !(1..=10000).contains(&m.batch_size) {
                return fail(key("batch_size"), "must be between 1 and 10000");
            }
            if m.batch_size > 10 && m.batching_window_secs == 0 {
                return fail(
                    key("batch_size"),
                    "above 10 needs a batching_window_secs of at least 1 (as on AWS)",
                );
            }
            if m.batching_window_secs > 300 {
                return fail(key("batching_window_secs"), "must be at most 300");
            }
            if m.max_concurrency == 0 {
                return fail(key("max_concurrency"), "must be at least 1");
            }
            // AWS refuses such a mapping: a slow batch would be delivered twice.
            let timeout = self.functions[&m.function].timeout_secs;
            if let Some(q) = self.provision.queues.iter().find(|q| q.name == m.queue)
                && q.visibility_timeout_secs < timeout
            {
                return fail(
                    key("queue"),
                    format!(
                        "queue {}'s visibility_timeout_secs ({}) is less than function {}'s timeout_secs ({timeout})",
                        q.name, q.visibility_timeout_secs, m.function
                    ),
                );
            }
        }
        Ok(())
    }

    fn check_provision(&self) -> Check {
        for (i, q) in self.provision.queues.iter().enumerate() {
            if q.visibility_timeout_secs > 43200 {
                return fail(
                    format!("provision.queues[{i}].visibility_timeout_secs"),
                    "must be at most 43200 (12 h)",
                );
            }
            if let Some(d) = &q.dead_letter
                && !(1..=1000).contains(&d.max_receive_count)
            {
                return fail(
                    format!("provision.queues[{i}].dead_letter.max_receive_count"),
                    "must be between 1 and 1000",
                );
            }
        }
        Ok(())
    }
}
