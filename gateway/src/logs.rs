//! The gateway's log: human lines by default, or one JSON object per line
//! (`--log-format json`) for CI and log tools. Function lines carry the
//! function's name and the request id as fields; the human format shows them
//! in the message as Lambda's own lines do (`[name] START RequestId: …`) and
//! leaves the fields out.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::MakeExt;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// Fields the human format leaves out: its messages already say them.
const IN_THE_MESSAGE: [&str; 2] = ["function", "request_id"];

/// Installs the subscriber; `RUST_LOG` filters (default `info`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
        LogFormat::Human => {
            let fields =
                tracing_subscriber::fmt::format::debug_fn(|w, field, value| match field.name() {
                    name if IN_THE_MESSAGE.contains(&name) => Ok(()),
                    "message" => write!(w, "{value:?}"),
                    name => write!(w, "{name}={value:?}"),
                })
                .delimited(" ");
            builder
                .with_ansi(std::io::stderr().is_terminal())
                .fmt_fields(fields)
                .init()
        }
    }
}
