//! A Serverless Framework service file (`serverless.yml`, v3 and v4) as a
//! gateway: its variables resolved (`variables.rs`), the CloudFormation the
//! framework would deploy made from it (`translate.rs`), and that template run
//! by the template engine, as `--template` runs one. serverless-offline's own
//! settings that map (`websocketPort`, `host`) are taken; clients written for
//! it also find the socket at `/`.

mod translate;
mod variables;

use std::path::Path;

use crate::config::ConfigError;
use crate::template::{self, Loaded, TemplateOptions};

pub use translate::normalize;

/// A service file that cannot be used: where, and why.
#[derive(Debug, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ServerlessError {
    pub at: String,
    pub message: String,
}

/// Reads a service file. `--parameter` pairs are `${opt:…}` (`stage`, `region`).
pub fn load(
    path: &Path,
    options: &TemplateOptions,
    listen_given: bool,
) -> Result<Loaded, ConfigError> {
    let invalid = |at: String, message: String| ConfigError::Invalid {
        path: path.to_owned(),
        key: at,
        message,
    };
    let (doc, base) = template::read_yaml(path)?;
    let sources = variables::Sources {
        options: options.parameters.clone(),
        region: options.region.clone(),
        account_id: options.account_id.clone(),
        base: base.clone(),
    };
    let service = variables::resolve(&doc, &sources).map_err(|e| invalid(e.at, e.message))?;
    let stage = options.parameters.get("stage").map(String::as_str);
    let (template, offline) =
        translate::translate(&service, stage).map_err(|e| invalid(e.at, e.message))?;
    let mut options = options.clone();
    // The template's own parameters are not the service's options.
    options.parameters.clear();
    if let Some(region) = service["provider"]["region"].as_str()
        && !sources.options.contains_key("region")
    {
        options.region = region.to_string();
    }
    if !listen_given {
        if let Some(port) = offline.websocket_port {
            options.listen.set_port(port);
        }
        if let Some(ip) = offline.host.as_deref().and_then(|h| {
            if h == "localhost" {
                Some(std::net::IpAddr::from([127, 0, 0, 1]))
            } else {
                h.parse().ok()
            }
        }) {
            options.listen.set_ip(ip);
        }
    }
    let mut loaded = template::from_value(&template, path, &base, &options)?;
    loaded.config.api.serve_at_root = true;
    for more in &mut loaded.more {
        more.api.serve_at_root = true;
    }
    // Said once, at start-up: what the file holds that is not enforced (INFO),
    // and what is not emulated (WARN).
    let (unenforced, mut others): (Vec<String>, Vec<String>) = offline
        .notes
        .into_iter()
        .partition(|n| n.contains("not enforced"));
    others.append(&mut loaded.warnings);
    loaded.warnings = others;
    loaded.notes.extend(unenforced);
    Ok(loaded)
}
