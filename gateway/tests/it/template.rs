//! Templates as the gateway's model: template.yaml, a template with every
//! intrinsic, parameters and conditions, a JSON template, and broken ones.

use std::path::{Path, PathBuf};

use wsgate::template::{self, Loaded, TemplateOptions};

use crate::common::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/templates")
}

fn options(parameters: &[(&str, &str)]) -> TemplateOptions {
    TemplateOptions {
        parameters: parameters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        bin_dir: Some(PathBuf::from("/bin-dir")),
        endpoint_url: Some("http://127.0.0.1:4566".into()),
        ..TemplateOptions::default()
    }
}

fn load(path: &Path, parameters: &[(&str, &str)]) -> Loaded {
    template::load(path, &options(parameters)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_repos_template_builds_the_app() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let loaded = load(
        &path,
        &[
            ("TokenSecret", "a-secret-of-some-length"),
            ("StageName", "local"),
        ],
    );
    let c = &loaded.config;
    assert_eq!(c.api.stage, "local");
    assert_eq!(c.api.route_selection_expression, "$request.body.action");
    let routes: Vec<_> = c.routes.keys().map(String::as_str).collect();
    assert_eq!(
        routes,
        ["$connect", "$default", "$disconnect", "authorize", "ping"]
    );
    let connect = &c.routes["$connect"];
    assert_eq!(connect.function.as_deref(), Some("ConnectFunction"));
    let authorizer = &c.authorizers[connect.authorizer.as_deref().unwrap()];
    assert_eq!(authorizer.function, "AuthorizerFunction");
    assert_eq!(
        authorizer.identity_source,
        ["route.request.querystring.token"]
    );
    let f = &c.functions["NotifyUserFunction"];
    assert_eq!(f.command, ["/bin-dir/notify-user"]);
    assert_eq!(f.timeout_secs, 10);
    assert_eq!(f.env["AUTH_MODE"], "authorizer");
    assert_eq!(f.env["CONNECTIONS_TABLE"], "Connections");
    assert_eq!(
        f.env["NOTIFY_CONNECTION_QUEUE"],
        "http://127.0.0.1:4566/000000000000/NotifyConnection"
    );
    let mappings: Vec<_> = c
        .sqs
        .iter()
        .map(|m| {
            (
                m.function.as_str(),
                m.queue.as_str(),
                m.report_batch_item_failures,
            )
        })
        .collect();
    assert!(
        mappings.contains(&("NotifyUserFunction", "NotifyUser", true)),
        "{mappings:?}"
    );
    assert!(mappings.contains(&("NotifyConnectionFunction", "NotifyConnection", true)));
    assert!(mappings.contains(&("CloseUnauthorizedFunction", "CloseUnauthorized", true)));
    assert_eq!(c.http.routes["POST /token"].function, "TokenFunction");
    let table = &c.provision.tables[0];
    assert_eq!(
        (table.name.as_str(), table.partition_key.as_str()),
        ("Connections", "ConnectionId")
    );
    assert_eq!(table.indexes[0].name, "UserIdIndex");
    let queue = c
        .provision
        .queues
        .iter()
        .find(|q| q.name == "NotifyUser")
        .unwrap();
    assert_eq!(queue.dead_letter.as_ref().unwrap().name, "NotifyUser-DLQ");
    assert_eq!(queue.dead_letter.as_ref().unwrap().max_receive_count, 3);
    // Permissions, IAM, architectures and retention are listed once, as an INFO
    // note, not silently dropped; nothing that changes behaviour is missing, so
    // the repo's own template starts without a warning.
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let notes = loaded.notes.join("\n");
    for unenforced in [
        "AWS::Lambda::Permission",
        "Policies",
        "Architectures",
        "MessageRetentionPeriod",
    ] {
        assert!(notes.contains(unenforced), "{unenforced} in {notes}");
    }
    assert_eq!(loaded.notes.len(), 1, "one line: {notes}");

    // The action mode: no authorizer resource, no authorizer on $connect.
    let action = load(
        &path,
        &[
            ("TokenSecret", "sixteen-or-more-chars"),
            ("AuthMode", "action"),
        ],
    );
    assert!(action.config.routes["$connect"].authorizer.is_none());
    assert!(action.config.authorizers.is_empty());
    assert_eq!(action.config.api.stage, "prod");
}

#[test]
fn every_intrinsic_parameter_and_condition_resolves() {
    let loaded = load(&templates().join("intrinsics.yaml"), &[]);
    let c = &loaded.config;
    assert_eq!(c.api.stage, "dev-v1");
    assert_eq!(c.api.route_selection_expression, "$request.body.action");
    assert!(
        !c.functions.contains_key("ProdOnly"),
        "its condition is false"
    );
    let f = &c.functions["app-echo"];
    assert_eq!(f.command, ["/bin-dir/probe"]);
    assert_eq!(
        (f.timeout_secs, f.memory_mb, f.max_concurrency),
        (5, 256, 3)
    );
    let env = &f.env;
    assert_eq!(env["SHARED"], "from-globals");
    assert_eq!(
        env["QUEUE_URL"],
        "http://127.0.0.1:4566/000000000000/app-work"
    );
    assert_eq!(
        env["QUEUE_ARN"],
        "arn:aws:sqs:us-east-1:000000000000:app-work"
    );
    assert_eq!(env["QUEUE_NAME"], "app-work");
    assert_eq!(env["TABLE"], "app-items");
    assert_eq!(env["SECOND"], "beta");
    assert_eq!(env["PARTS"], "c");
    assert_eq!(env["LITERAL"], "${NotReplaced}-us-east-1-000000000000");
    assert_eq!(env["WITH_MAP"], "hello, dev");
    assert_eq!(env["ENCODED"], "aGk=");
    assert!(!env.contains_key("DROPPED"));
    assert_eq!(env["BOTH"], "yes");
    assert_eq!(env["EITHER"], "yes");
    // Python functions run with awslambdaric in their CodeUri.
    let py = &c.functions["PyFunction"];
    assert_eq!(py.command[1..], ["-m", "awslambdaric", "app.handler"]);
    assert!(py.working_dir.as_ref().unwrap().ends_with("python"));
    // Routes, the authorizer, route responses.
    assert_eq!(c.routes["$connect"].function.as_deref(), Some("app-echo"));
    let auth = &c.authorizers[c.routes["$connect"].authorizer.as_deref().unwrap()];
    assert_eq!(auth.identity_source.len(), 2);
    assert_eq!(c.routes["echo"].function.as_deref(), Some("PyFunction"));
    assert!(c.routes["echo"].route_response);
    assert!(!c.routes["$connect"].route_response);
    // Event sources and data.
    let m = &c.sqs[0];
    assert_eq!(
        (m.queue.as_str(), m.batch_size, m.batching_window_secs),
        ("app-work", 20, 2)
    );
    assert_eq!(c.http.routes["GET /hello"].function, "app-echo");
    let t = &c.provision.tables[0];
    assert_eq!(
        (t.partition_key.as_str(), t.sort_key.as_deref()),
        ("Pk", Some("Sk"))
    );
    assert_eq!(c.provision.queues.len(), 1, "the DLQ comes with its queue");
    assert_eq!(
        c.provision.queues[0].dead_letter.as_ref().unwrap().name,
        "app-work-dlq"
    );
    let warnings = loaded.warnings.join("\n");
    // Topics are provisioned now (integrations publish to them), with their name.
    assert_eq!(c.provision.topics.len(), 1, "{:?}", c.provision.topics);
    assert!(!warnings.contains("AWS::SNS::Topic"), "{warnings}");
    assert!(warnings.contains("Schedule"), "{warnings}");

    // Overrides change what the conditions choose.
    let prod = load(
        &templates().join("intrinsics.yaml"),
        &[("Env", "prod"), ("Prefix", "p")],
    );
    assert_eq!(prod.config.api.stage, "prod-v1");
    assert_eq!(
        prod.config.api.route_selection_expression,
        "$request.body.type"
    );
    assert!(prod.config.functions.contains_key("ProdOnly"));
    assert_eq!(prod.config.functions["p-echo"].env["DROPPED"], "kept");
    assert_eq!(prod.config.functions["p-echo"].env["BOTH"], "no");
}

#[test]
fn json_templates_load_too() {
    let c = load(&templates().join("synth.json"), &[]).config;
    assert_eq!(c.api.stage, "json");
    assert_eq!(c.routes["$default"].function.as_deref(), Some("Fn"));
    assert_eq!(c.functions["Fn"].timeout_secs, 7);
}

fn error_of(text: &str, parameters: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(&path, text).unwrap();
    template::load(&path, &options(parameters))
        .unwrap_err()
        .to_string()
}

const API: &str =
    "  Api:\n    Type: AWS::ApiGatewayV2::Api\n    Properties: {ProtocolType: WEBSOCKET}\n";

#[test]
fn errors_name_the_resource_and_property() {
    let e = error_of(
        &format!(
            "Resources:\n{API}  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n      ApiId: !Ref Api\n      Target: integrations/x\n"
        ),
        &[],
    );
    assert!(
        e.contains("broken.yaml")
            && e.contains("Resources.R.Properties.RouteKey")
            && e.contains("required"),
        "{e}"
    );
    let e = error_of(
        &format!(
            "Resources:\n{API}  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: provided.al2023\n      Environment: {{Variables: {{X: !Ref Missing}}}}\n"
        ),
        &[],
    );
    assert!(
        e.contains("Resources.F.Properties.Environment.Variables.X") && e.contains("Missing"),
        "{e}"
    );
    let e = error_of(
        &format!(
            "Resources:\n{API}  F:\n    Type: AWS::Serverless::Function\n    Properties: {{Runtime: java21}}\n"
        ),
        &[],
    );
    assert!(
        e.contains("Resources.F.Properties.Runtime") && e.contains("java21"),
        "{e}"
    );
    let e = error_of(
        &format!("Parameters:\n  Secret: {{Type: String}}\nResources:\n{API}"),
        &[],
    );
    assert!(
        e.contains("Parameters.Secret") && e.contains("--parameter Secret="),
        "{e}"
    );
    let e = error_of(
        &format!(
            "Parameters:\n  Env: {{Type: String, Default: a, AllowedValues: [a, b]}}\nResources:\n{API}"
        ),
        &[("Env", "c")],
    );
    assert!(
        e.contains("Parameters.Env") && e.contains("AllowedValues"),
        "{e}"
    );
    let e = error_of(&format!("Resources:\n{API}"), &[("Nope", "1")]);
    assert!(e.contains("Parameters.Nope"), "{e}");
    let e = error_of("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n", &[]);
    assert!(e.contains("WEBSOCKET"), "{e}");
    let e = error_of(
        &format!(
            "Resources:\n{API}  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {{ApiId: !Ref Api, RouteKey: x, Target: integrations/Nope}}\n"
        ),
        &[],
    );
    assert!(
        e.contains("Resources.R.Properties.Target") && e.contains("Nope"),
        "{e}"
    );
    let e = error_of("Resources: [", &[]);
    assert!(e.contains("YAML"), "{e}");
}

#[tokio::test]
async fn a_template_runs_on_the_gateway() {
    // The JSON template's function is the probe: a route answers through it.
    let mut options = options(&[]);
    options.bin_dir = Some(bin_dir());
    options.listen = "127.0.0.1:0".parse().unwrap();
    let mut config = template::load(&templates().join("synth.json"), &options)
        .unwrap()
        .config;
    config.routes.get_mut("$default").unwrap().route_response = true;
    let gateway = wsgate::Gateway::start(config).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(gateway.ws_url())
        .await
        .unwrap();
    let reply = ask(&mut ws, r#"{"action":"anything"}"#).await;
    assert_eq!(reply["function"], "Fn");
    assert_eq!(
        reply["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:Fn"
    );
    gateway.shutdown().await;
}

#[test]
fn a_built_bootstrap_in_code_uri_is_the_program() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("build/echo")).unwrap();
    std::fs::write(dir.path().join("build/echo/bootstrap"), "").unwrap();
    let text = format!(
        "Resources:\n{API}  Echo:\n    Type: AWS::Serverless::Function\n    Properties: {{Runtime: provided.al2023, Handler: bootstrap, CodeUri: build/echo}}\n  Other:\n    Type: AWS::Serverless::Function\n    Properties: {{Runtime: provided.al2023, Handler: my-binary}}\n"
    );
    let path = dir.path().join("template.yaml");
    std::fs::write(&path, text).unwrap();
    let c = template::load(&path, &options(&[])).unwrap().config;
    let echo = &c.functions["Echo"].command[0];
    assert!(echo.ends_with("build/echo/bootstrap"), "{echo}");
    assert_eq!(c.functions["Other"].command, ["/bin-dir/my-binary"]);
}

fn cloudformation(parameters: &[(&str, &str)], region: &str) -> Result<Loaded, String> {
    let options = TemplateOptions {
        region: region.into(),
        imports: [("network-VpcId".to_string(), "vpc-0123".to_string())].into(),
        ..options(parameters)
    };
    template::load(&templates().join("cloudformation.yaml"), &options).map_err(|e| e.to_string())
}

#[test]
fn mappings_answer_find_in_map() {
    let c = cloudformation(&[], "us-east-1").unwrap().config;
    let f = &c.functions["Fn"];
    assert_eq!(f.memory_mb, 256);
    assert_eq!(
        (f.env["LOG_LEVEL"].as_str(), f.env["REGION_SHORT"].as_str()),
        ("debug", "use1")
    );
    assert_eq!(f.env["PUBLIC"], "no", "a condition reads the map too");
    let c = cloudformation(&[("Env", "prod")], "eu-west-1")
        .unwrap()
        .config;
    let f = &c.functions["public-fn"];
    assert_eq!(f.memory_mb, 1024);
    assert_eq!(
        (f.env["LOG_LEVEL"].as_str(), f.env["REGION_SHORT"].as_str()),
        ("warn", "euw1")
    );
    assert_eq!(f.env["PUBLIC"], "yes");
    // A region the map does not list: CloudFormation's words, and where.
    let e = cloudformation(&[], "ap-south-1").unwrap_err();
    assert!(
        e.contains("Resources.Fn.Properties.Environment.Variables.REGION_SHORT")
            && e.contains("Unable to get mapping for RegionSettings::ap-south-1::Short"),
        "{e}"
    );
    let e = error_of(
        &format!(
            "Resources:\n{API}  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: provided.al2023\n      Timeout: !FindInMap [Nope, a, b]\n"
        ),
        &[],
    );
    assert!(
        e.contains("Resources.F.Properties.Timeout")
            && e.contains("Mapping named 'Nope' is not present in the 'Mappings' section"),
        "{e}"
    );
}

#[test]
fn pseudo_parameters_and_no_value() {
    let c = cloudformation(&[], "eu-west-1").unwrap().config;
    let f = &c.functions["Fn"];
    assert_eq!(
        f.env["API_URL"],
        "https://api0000000.execute-api.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        f.env["TOPICS_ARN"],
        "arn:aws:sns:eu-west-1:000000000000:topics"
    );
    assert_eq!(f.env["NOTIFIED"], "", "no topics hear of a local stack");
    // AWS::NoValue removes the property: defaults apply, list items go.
    assert_eq!(f.timeout_secs, 3);
    assert_eq!(f.env["DEBUG"], "1");
    assert_eq!(f.env["ZONES"], "a,b");
    let c = cloudformation(&[("Env", "prod")], "eu-west-1")
        .unwrap()
        .config;
    let f = &c.functions["public-fn"];
    assert_eq!(f.timeout_secs, 9);
    assert!(!f.env.contains_key("DEBUG"));
}

#[test]
fn depends_on_is_checked() {
    // The fixture's DependsOn (a list and a string) load.
    cloudformation(&[], "us-east-1").unwrap();
    let e = error_of(
        &format!("Resources:\n{API}  Q:\n    Type: AWS::SQS::Queue\n    DependsOn: [Api, Tabel]\n"),
        &[],
    );
    assert!(
        e.contains("Resources.Q.DependsOn")
            && e.contains("Unresolved resource dependencies [Tabel] in the Resources block"),
        "{e}"
    );
}

#[test]
fn parameter_constraints_are_enforced_at_load() {
    let c = cloudformation(&[("Prefix", "my-app"), ("Workers", "16")], "us-east-1")
        .unwrap()
        .config;
    assert_eq!(c.functions["Fn"].env["PREFIX"], "my-app");
    assert_eq!(c.functions["Fn"].max_concurrency, 16);
    let refused =
        |parameters: &[(&str, &str)]| cloudformation(parameters, "us-east-1").unwrap_err();
    let described = "`Parameters.Prefix`: Parameter 'Prefix' failed to satisfy constraint: lowercase letters, digits and dashes, first a letter";
    assert!(refused(&[("Prefix", "My-App")]).ends_with(described));
    assert!(refused(&[("Prefix", "much-too-long")]).ends_with(described));
    assert!(
        refused(&[("Workers", "0")]).ends_with(
            "`Parameters.Workers`: Parameter 'Workers' must be a number not less than 1"
        )
    );
    assert!(refused(&[("Workers", "17")]).ends_with("must be a number not greater than 16"));
    assert!(refused(&[("Workers", "four")]).ends_with("Parameter 'Workers' must be a number"));

    // The repo's template: TokenSecret's MinLength, StageName's pattern.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let e = template::load(&path, &options(&[("TokenSecret", "short")]))
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with(
            "`Parameters.TokenSecret`: Parameter 'TokenSecret' must contain at least 16 characters"
        ),
        "{e}"
    );
    let e = template::load(
        &path,
        &options(&[
            ("TokenSecret", "sixteen-or-more-chars"),
            ("StageName", "my stage"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.ends_with("must match pattern [A-Za-z0-9_-]+"), "{e}");
}

#[test]
fn imports_come_from_the_command_line_and_zones_from_the_region() {
    let c = cloudformation(&[], "eu-west-1").unwrap().config;
    let env = &c.functions["Fn"].env;
    assert_eq!(env["VPC"], "vpc-0123");
    assert_eq!(env["FIRST_ZONE"], "eu-west-1a");
    assert_eq!(env["ZONES_HERE"], "eu-west-1a,eu-west-1b,eu-west-1c");
    // Without the export: CloudFormation's words, where, and what to pass.
    let e = template::load(&templates().join("cloudformation.yaml"), &options(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Resources.Fn.Properties.Environment.Variables.VPC")
            && e.contains("No export named network-VpcId found: pass --import network-VpcId="),
        "{e}"
    );
}

#[tokio::test]
async fn the_import_flag_reaches_the_template() {
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("template.yaml");
    std::fs::write(
        &path,
        format!(
            "Resources:\n{API}  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: provided.al2023\n      Environment: {{Variables: {{A: !ImportValue a, B: !ImportValue b}}}}\n"
        ),
    )
    .unwrap();
    let wsgate = |imports: &[&str]| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_wsgate"));
        cmd.arg("--template")
            .arg(&path)
            .args(["--listen", "127.0.0.1:0"])
            .env("WSGATE_CA_DIR", ca_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for i in imports {
            cmd.args(["--import", i]);
        }
        cmd
    };
    let out = wsgate(&["a=1"]).output().await.unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No export named b found"), "{err}");

    let mut child = wsgate(&["a=1", "b=x=y"]).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if line.starts_with("wsgate ready: ") {
                return true;
            }
        }
        false
    })
    .await
    .expect("wsgate starts within 20 s");
    assert!(ready, "wsgate exited before it was ready");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn sam_build_output_runs_as_it_is() {
    // The real `connect` and `default` handlers are in bin_dir: the built
    // bootstraps must win over the `Binary` names the built template keeps.
    let built = templates().join("sam-build");
    let mut options = options(&[]);
    options.bin_dir = Some(bin_dir());
    options.listen = "127.0.0.1:0".parse().unwrap();
    let mut config = template::load(&built.join("template.yaml"), &options)
        .unwrap_or_else(|e| panic!("{e}"))
        .config;
    for (name, f) in &mut config.functions {
        let expected = built.join(name).join("bootstrap");
        assert_eq!(f.command, [expected.to_string_lossy()], "{name}");
        f.env
            .insert("WSGATE_TEST_PROBE".into(), bin("probe").to_string());
    }
    config.tls.ca_dir = Some(ca_dir());
    let gateway = wsgate::Gateway::start(config).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(gateway.ws_url())
        .await
        .unwrap();
    let reply = ask(&mut ws, r#"{"action":"anything"}"#).await;
    assert_eq!(reply["function"], "DefaultFunction");
    gateway.shutdown().await;
}

#[test]
fn without_a_built_bootstrap_the_binary_is_found_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    let path = dir.path().join("template.yaml");
    std::fs::write(
        &path,
        format!(
            "Resources:\n{API}  F:\n    Type: AWS::Serverless::Function\n    Metadata: {{BuildMethod: rust-cargolambda, BuildProperties: {{Binary: my-fn}}}}\n    Properties: {{Runtime: provided.al2023, Handler: bootstrap, CodeUri: src}}\n"
        ),
    )
    .unwrap();
    let c = template::load(&path, &options(&[])).unwrap().config;
    assert_eq!(c.functions["F"].command, ["/bin-dir/my-fn"]);
}

/// `StageVariables` reach every event, `${stageVariables.x}` in an integration
/// URI picks the function, an `AWS::ApiGateway::ApiKey` opens a `$connect`
/// with `ApiKeyRequired`, and an `AWS::ApiGatewayV2::Model` checks messages.
#[tokio::test]
async fn stage_variables_pick_the_function_and_reach_events() {
    let mut options = options(&[]);
    options.bin_dir = Some(bin_dir());
    options.listen = "127.0.0.1:0".parse().unwrap();
    let config = template::load(&templates().join("stage-variables.yaml"), &options)
        .unwrap()
        .config;
    assert_eq!(config.api.api_keys, ["local-key-0123456789abcdef"]);
    assert!(config.routes["$connect"].api_key_required);
    let gateway = wsgate::Gateway::start(config).await.unwrap();
    let mut request = gateway.ws_url().into_client_request().unwrap();
    let key = "local-key-0123456789abcdef".parse().unwrap();
    request.headers_mut().insert("x-api-key", key);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let reply = ask(&mut ws, r#"{"action":"anything","text":"hi"}"#).await;
    assert_eq!(reply["function"], "Blue", "{reply}");
    assert_eq!(reply["stageVariables"]["color"], "blue", "{reply}");
    // The route's model: a message without `text`, or with too long a one, is
    // refused as API Gateway refuses it, and the function is not invoked.
    for bad in [
        r#"{"action":"anything"}"#,
        r#"{"text":"far more than twenty characters"}"#,
        "not json",
    ] {
        let reply = ask(&mut ws, bad).await;
        assert_eq!(reply["message"], "Invalid request body", "{bad}: {reply}");
        assert!(reply["connectionId"].is_string(), "{reply}");
    }
    gateway.shutdown().await;
}

/// Every WebSocket API of a template runs, each on a gateway of its own.
#[tokio::test]
async fn every_websocket_api_of_a_template_runs() {
    let mut options = options(&[]);
    options.bin_dir = Some(bin_dir());
    options.listen = "127.0.0.1:9100".parse().unwrap();
    let loaded = template::load(&templates().join("two-apis.yaml"), &options).unwrap();
    // Listed in logical-id order, each on the next port.
    assert_eq!(loaded.config.api.stage, "admin");
    assert_eq!(loaded.more.len(), 1);
    assert_eq!(loaded.more[0].api.stage, "chat");
    assert_eq!(loaded.more[0].api.listen.port(), 9101);
    for (mut config, function) in [(loaded.config, "Admin"), (loaded.more[0].clone(), "Chat")] {
        config.api.listen = "127.0.0.1:0".parse().unwrap();
        let gateway = wsgate::Gateway::start(config).await.unwrap();
        let (mut ws, _) = tokio_tungstenite::connect_async(gateway.ws_url())
            .await
            .unwrap();
        let reply = ask(&mut ws, r#"{"action":"who"}"#).await;
        assert_eq!(reply["function"], function, "{reply}");
        gateway.shutdown().await;
    }
}
