//! What the gateway counts, served at `GET /_wsgate/metrics` in the Prometheus
//! (OpenMetrics) text format. One registry per gateway; the hot paths hold
//! their own counters (a route's, a function's) instead of looking up labels
//! per message.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FunctionLabel {
    pub function: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub function: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `POST`, `GET`, `DELETE` or `OTHER`: static, so a push allocates no label.
    pub method: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntegrationLabels {
    /// `AWS_PROXY`, `AWS`, `HTTP_PROXY`, `HTTP` or `MOCK`.
    pub integration_type: &'static str,
    /// `ok` (2xx), `status` (another status), `error` (no usable answer).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    pub queue: String,
    pub outcome: String,
}

fn duration_buckets() -> Histogram {
    // 0.5 ms … about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    /// The last frames and invocations, for the inspector.
    pub journal: crate::journal::Journal,
    pub connections_open: Gauge,
    pub connections_opened: Counter,
    pub connections_closed: Family<CodeLabel, Counter>,
    pub frames_in: Counter,
    pub frames_out: Counter,
    pub route_selections: Family<RouteLabel, Counter>,
    pub invocations: Family<OutcomeLabels, Counter>,
    pub invocation_seconds: Family<FunctionLabel, Histogram, fn() -> Histogram>,
    pub cold_starts: Family<FunctionLabel, Counter>,
    pub management_requests: Family<RequestLabels, Counter>,
    pub sqs_batches: Family<QueueLabels, Counter>,
    pub sqs_records: Family<QueueLabels, Counter>,
    pub integrations: Family<IntegrationLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Self {
            registry: Registry::default(),
            journal: Default::default(),
            connections_open: Gauge::default(),
            connections_opened: Counter::default(),
            connections_closed: Family::default(),
            frames_in: Counter::default(),
            frames_out: Counter::default(),
            route_selections: Family::default(),
            invocations: Family::default(),
            invocation_seconds: Family::new_with_constructor(duration_buckets),
            cold_starts: Family::default(),
            management_requests: Family::default(),
            sqs_batches: Family::default(),
            sqs_records: Family::default(),
            integrations: Family::default(),
        };
        let r = &mut m.registry;
        let prefixed = |name: &str| format!("wsgate_{name}");
        r.register(
            prefixed("connections_open"),
            "WebSocket connections open now",
            m.connections_open.clone(),
        );
        r.register(
            prefixed("connections_opened"),
            "WebSocket connections accepted",
            m.connections_opened.clone(),
        );
        r.register(
            prefixed("connections_closed"),
            "WebSocket connections closed, by close code",
            m.connections_closed.clone(),
        );
        r.register(
            prefixed("frames_in"),
            "Frames received from clients",
            m.frames_in.clone(),
        );
        r.register(
            prefixed("frames_out"),
            "Frames sent to clients",
            m.frames_out.clone(),
        );
        r.register(
            prefixed("route_selections"),
            "Messages by the route selected (none: no route matched)",
            m.route_selections.clone(),
        );
        r.register(
            prefixed("invocations"),
            "Function invocations by outcome",
            m.invocations.clone(),
        );
        r.register(
            prefixed("invocation_duration_seconds"),
            "Time from queuing an invocation to its answer",
            m.invocation_seconds.clone(),
        );
        r.register(
            prefixed("cold_starts"),
            "Function instances started",
            m.cold_starts.clone(),
        );
        r.register(
            prefixed("integrations"),
            "Route integrations run, by type and outcome",
            m.integrations.clone(),
        );
        r.register(
            prefixed("management_requests"),
            "@connections requests by method and status",
            m.management_requests.clone(),
        );
        r.register(
            prefixed("sqs_batches"),
            "SQS batches handed to functions, by outcome",
            m.sqs_batches.clone(),
        );
        r.register(
            prefixed("sqs_records"),
            "SQS records, by what became of them",
            m.sqs_records.clone(),
        );
        m
    }
}

impl Metrics {
    /// The text exposition (OpenMetrics, which Prometheus reads).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Integrations run, by type and outcome.
    pub fn integration(&self, integration_type: &'static str, outcome: &'static str) -> Counter {
        self.integrations
            .get_or_create(&IntegrationLabels {
                integration_type,
                outcome,
            })
            .clone()
    }

    pub fn route(&self, route: &str) -> Counter {
        self.route_selections
            .get_or_create(&RouteLabel {
                route: route.to_string(),
            })
            .clone()
    }
}
