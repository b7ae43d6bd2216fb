//! Functions: how each runtime runs locally, and the events (SQS, HTTP) that trigger them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::resources::Resources;
use super::{TemplateError, TemplateOptions, number, required, text};
use crate::config::{FunctionConfig, HttpConfig, HttpRouteConfig, HttpRouteKey, SqsMappingConfig};

pub(super) struct Functions {
    pub functions: BTreeMap<String, FunctionConfig>,
    pub sqs: Vec<SqsMappingConfig>,
    pub http: HttpConfig,
}

pub(super) fn functions(
    res: &Resources,
    options: &TemplateOptions,
    base: &Path,
    warnings: &mut Vec<String>,
) -> Result<Functions, TemplateError> {
    // Functions, and the events that trigger them.
    let bin_dir = options.bin_dir.clone().unwrap_or_else(|| {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        base.join(target).join("debug")
    });
    let mut functions = BTreeMap::new();
    let mut sqs = Vec::new();
    let mut http = HttpConfig {
        static_dir: options.static_dir.clone(),
        ..HttpConfig::default()
    };
    for f in res
        .of("AWS::Serverless::Function")
        .chain(res.of("AWS::Lambda::Function"))
    {
        let at = format!("Resources.{}.Properties", f.id);
        let p = &res.resolved[f.id];
        let name = res.scope.resources[f.id].reference.clone();
        let runtime = text(&p["Runtime"]).unwrap_or_else(|| "provided.al2023".into());
        let handler = text(&p["Handler"]).unwrap_or_else(|| "bootstrap".into());
        // `Code` as a folder is how `sam build` writes a built AWS::Lambda::Function;
        // the CDK names its asset folder (beside the template) in the Metadata.
        let code = match inline_code(p, &runtime, f.id, &at)? {
            Some(folder) => folder,
            None => text(&p["CodeUri"])
                .or_else(|| text(&p["Code"]))
                .or_else(|| asset_path(f.raw))
                .or_else(|| manifest_asset(&p["Code"], base))
                .map(|c| base.join(c))
                .unwrap_or_else(|| base.to_owned()),
        };
        let (command, working_dir) = if runtime.starts_with("provided") {
            let binary = text(&f.raw["Metadata"]["BuildProperties"]["Binary"]);
            (vec![program(&code, binary, &handler, f.id, &bin_dir)], None)
        } else if runtime.starts_with("python") {
            (
                vec![
                    options.python.clone(),
                    "-m".into(),
                    "awslambdaric".into(),
                    handler.clone(),
                ],
                Some(code),
            )
        } else if runtime.starts_with("nodejs") {
            // wsgate runs it with aws-lambda-ric (see `node/`).
            (Vec::new(), Some(code))
        } else {
            return Err(TemplateError::at(
                &format!("{at}.Runtime"),
                format!("`{runtime}` cannot run locally yet (provided.*, python* and nodejs* can)"),
            ));
        };
        let env = p["Environment"]["Variables"]
            .as_object()
            .map(|vars| {
                vars.iter()
                    .filter_map(|(k, v)| Some((k.clone(), text(v)?)))
                    .collect()
            })
            .unwrap_or_default();
        // Reserved concurrency both caps the processes and throttles beyond it (0: always).
        let reserved = number(p, "ReservedConcurrentExecutions", &at)?.map(|n| n as usize);
        let config = FunctionConfig {
            command,
            runtime: Some(runtime),
            env,
            timeout_secs: number(p, "Timeout", &at)?.unwrap_or(3),
            memory_mb: number(p, "MemorySize", &at)?.unwrap_or(128) as u32,
            max_concurrency: reserved.map_or(10, |n| n.max(1)),
            reserved_concurrency: reserved,
            working_dir,
            handler: Some(handler),
            layers: function_layers(res, p, &at, f.id, base, warnings),
        };
        for (event_id, event) in p["Events"].as_object().into_iter().flatten() {
            let at = format!("{at}.Events.{event_id}.Properties");
            let e = &event["Properties"];
            match event["Type"].as_str().unwrap_or_default() {
                "SQS" => {
                    let queue = required(e, "Queue", &at)?;
                    sqs.push(SqsMappingConfig {
                        function: name.clone(),
                        queue: queue.rsplit(':').next().unwrap_or(&queue).to_string(),
                        batch_size: number(e, "BatchSize", &at)?.unwrap_or(10) as usize,
                        batching_window_secs: number(e, "MaximumBatchingWindowInSeconds", &at)?
                            .unwrap_or(0),
                        report_batch_item_failures: e["FunctionResponseTypes"]
                            .as_array()
                            .is_some_and(|t| t.iter().any(|t| t == "ReportBatchItemFailures")),
                        max_concurrency: number(&e["ScalingConfig"], "MaximumConcurrency", &at)?
                            .unwrap_or(crate::config::DEFAULT_POLLERS as u64)
                            as usize,
                    });
                }
                "HttpApi" | "Api" => {
                    let path = required(e, "Path", &at)?;
                    let method = required(e, "Method", &at)?.to_ascii_uppercase();
                    if method == "ANY" {
                        warnings.push(format!(
                            "{}: event {event_id}: method ANY is served as GET and POST",
                            f.id
                        ));
                        for m in ["GET", "POST"] {
                            http.routes.insert(
                                route_key(m, &path, &at)?,
                                HttpRouteConfig {
                                    function: name.clone(),
                                },
                            );
                        }
                    } else {
                        http.routes.insert(
                            route_key(&method, &path, &at)?,
                            HttpRouteConfig {
                                function: name.clone(),
                            },
                        );
                    }
                }
                other => warnings.push(format!(
                    "{}: event {event_id} of type {other} is not emulated",
                    f.id
                )),
            }
        }
        functions.insert(name, config);
    }
    sqs.extend(event_source_mappings(res, warnings)?);
    Ok(Functions {
        functions,
        sqs,
        http,
    })
}

/// A built `bootstrap` in the code folder first: it is what `sam build` left
/// (`.aws-sam/build/{LogicalId}/`) or `cargo lambda build` (`target/lambda/x/`),
/// and a built template keeps the `Binary` its build used. Else that cargo-lambda
/// binary by name in `bin_dir`, else the Handler, else the logical id.
fn program(code: &Path, binary: Option<String>, handler: &str, id: &str, bin_dir: &Path) -> String {
    let bootstrap = code.join("bootstrap");
    let program = match binary {
        _ if bootstrap.is_file() => bootstrap,
        Some(b) => bin_dir.join(b),
        None if handler != "bootstrap" => bin_dir.join(handler),
        None => bin_dir.join(id),
    };
    program.to_string_lossy().into_owned()
}

fn route_key(method: &str, path: &str, at: &str) -> Result<HttpRouteKey, TemplateError> {
    HttpRouteKey::parse(&format!("{method} {path}"))
        .map_err(|e| TemplateError::at(&format!("{at}.Path"), e.to_string()))
}

/// SAM's `InlineCode` or CloudFormation's `Code.ZipFile`: the source, written
/// where Lambda would put it (a file named `index`, so `Handler: index.handler`),
/// in a folder of its own under the user's cache.
fn inline_code(
    p: &Value,
    runtime: &str,
    id: &str,
    at: &str,
) -> Result<Option<PathBuf>, TemplateError> {
    let Some(source) = text(&p["InlineCode"]).or_else(|| text(&p["Code"]["ZipFile"])) else {
        return Ok(None);
    };
    let file = if runtime.starts_with("python") {
        "index.py"
    } else if runtime.starts_with("nodejs") {
        "index.js"
    } else {
        return Err(TemplateError::at(
            &format!("{at}.InlineCode"),
            format!("inline code runs on nodejs* and python* runtimes, not `{runtime}`"),
        ));
    };
    // One folder per content: two templates never share or overwrite one.
    let digest = ring::digest::digest(&ring::digest::SHA256, source.as_bytes());
    let hash: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let folder = crate::dirs::user_dir(
        "WSGATE_INLINE_DIR",
        "XDG_CACHE_HOME",
        ".cache",
        "inline-code",
    )
    .join(format!("{id}-{hash}"));
    // Whole: another gateway may be starting a function from this same file.
    let written = std::fs::create_dir_all(&folder)
        .and_then(|()| crate::dirs::write_whole(&folder.join(file), source.as_bytes()));
    written.map_err(|e| {
        TemplateError::at(
            &format!("{at}.InlineCode"),
            format!("cannot write it to {}: {e}", folder.display()),
        )
    })?;
    Ok(Some(folder))
}

/// A CDK function's code from the cloud assembly's `*.assets.json` manifests,
/// as `cdk deploy` finds it: the file asset whose destination `objectKey` is the
/// function's `Code.S3Key` (templates synthesized without asset metadata).
fn manifest_asset(code: &Value, base: &Path) -> Option<String> {
    let key = text(&code["S3Key"])?;
    let manifests = std::fs::read_dir(base).ok()?;
    for entry in manifests.flatten() {
        let path = entry.path();
        if !path.to_string_lossy().ends_with(".assets.json") {
            continue;
        }
        let Ok(manifest) = std::fs::read_to_string(&path) else {
            continue;
        };
        let manifest: Value = serde_json::from_str(&manifest).unwrap_or_default();
        for asset in manifest["files"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, a)| a)
        {
            let published = asset["destinations"]
                .as_object()
                .into_iter()
                .flatten()
                .any(|(_, d)| d["objectKey"] == key.as_str());
            if published && let Some(source) = text(&asset["source"]["path"]) {
                return Some(source);
            }
        }
    }
    None
}

/// The folder the CDK staged a resource's code or content in (`cdk.out/asset.<hash>`).
fn asset_path(raw: &Value) -> Option<String> {
    text(&raw["Metadata"]["aws:asset:path"])
}

/// A function's `Layers`, as folders: the template's own layer versions, by the
/// ARN `Ref` gives them. A layer from elsewhere (an ARN) has no folder here.
fn function_layers(
    res: &Resources,
    props: &Value,
    at: &str,
    id: &str,
    base: &Path,
    warnings: &mut Vec<String>,
) -> Vec<PathBuf> {
    let folders: BTreeMap<&str, PathBuf> = res
        .of("AWS::Serverless::LayerVersion")
        .chain(res.of("AWS::Lambda::LayerVersion"))
        .filter_map(|l| {
            let p = &res.resolved[l.id];
            let folder = text(&p["ContentUri"])
                .or_else(|| text(&p["Content"]))
                .or_else(|| asset_path(l.raw))?;
            Some((
                res.scope.resources[l.id].reference.as_str(),
                base.join(folder),
            ))
        })
        .collect();
    let mut layers = Vec::new();
    for layer in props["Layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(text)
    {
        match folders.get(layer.as_str()) {
            Some(folder) => layers.push(folder.clone()),
            None => warnings.push(format!(
                "{id}: layer {layer} is not a layer of this template and is not emulated ({at}.Layers)"
            )),
        }
    }
    layers
}

/// `AWS::Lambda::EventSourceMapping` resources from SQS queues (what the CDK's
/// `SqsEventSource` writes); other sources are reported, not emulated.
fn event_source_mappings(
    res: &Resources,
    warnings: &mut Vec<String>,
) -> Result<Vec<SqsMappingConfig>, TemplateError> {
    let mut out = Vec::new();
    for m in res.of("AWS::Lambda::EventSourceMapping") {
        let at = format!("Resources.{}.Properties", m.id);
        let p = &res.resolved[m.id];
        let source = required(p, "EventSourceArn", &at)?;
        if !source.starts_with("arn:") || !source.contains(":sqs:") {
            warnings.push(format!(
                "{}: event source {source} is not an SQS queue and is not emulated",
                m.id
            ));
            continue;
        }
        if p["Enabled"] == false {
            continue;
        }
        // A name, or an ARN ending in the name (a partial ARN too).
        let function = required(p, "FunctionName", &at)?;
        let function = function
            .rsplit_once(":function:")
            .map_or(function.as_str(), |(_, name)| name)
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        out.push(SqsMappingConfig {
            function,
            queue: source.rsplit(':').next().unwrap_or(&source).to_string(),
            batch_size: number(p, "BatchSize", &at)?.unwrap_or(10) as usize,
            batching_window_secs: number(p, "MaximumBatchingWindowInSeconds", &at)?.unwrap_or(0),
            report_batch_item_failures: p["FunctionResponseTypes"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "ReportBatchItemFailures")),
            max_concurrency: number(&p["ScalingConfig"], "MaximumConcurrency", &at)?
                .unwrap_or(crate::config::DEFAULT_POLLERS as u64)
                as usize,
        });
    }
    Ok(out)
}
