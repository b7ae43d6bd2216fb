//! The report: every figure beside its baseline and the ratio, against the
//! release targets, as Markdown and JSON.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::Args;
use crate::scenarios::{Idle, Load};

pub struct Report {
    markdown: String,
    json: serde_json::Map<String, Value>,
}

/// Routed messages per second at max load in the last report before the
/// routed path's rework (docs/benchmarks.md of 2026-11-26), the 2× target's base.
const ROUTED_BEFORE: f64 = 8340.0;

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}

impl Report {
    pub fn new(args: &Args) -> Self {
        let mut markdown = String::new();
        let _ = writeln!(
            markdown,
            "# wsgate benchmarks\n\nMeasured by `scripts/bench` on this machine ({} cores), every scenario with its baseline in the same run: a bare tokio-tungstenite echo server in its own process, with the same 4 KiB read buffers. Servers run as release builds; the load generator is one process using {} loopback source addresses. {} idle sockets, {} senders, {} s per load measurement.\n",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            crate::client::SOURCES,
            args.connections,
            args.senders,
            args.seconds,
        );
        Self {
            markdown,
            json: serde_json::Map::new(),
        }
    }

    pub fn idle(&mut self, echo: &Idle, gw: &Idle, gw_connect: &Idle) {
        let m = &mut self.markdown;
        let _ = writeln!(
            m,
            "## Idle sockets\n\n| | echo baseline | wsgate | ratio | wsgate + no-op $connect | ratio | target |\n|---|---|---|---|---|---|---|"
        );
        let _ = writeln!(
            m,
            "| RSS per connection | {} B | {} B | {:.2}× | {} B | {:.2}× | ≤ 10240 B: {} |",
            echo.rss_per_connection_bytes,
            gw.rss_per_connection_bytes,
            ratio(
                gw.rss_per_connection_bytes as f64,
                echo.rss_per_connection_bytes as f64
            ),
            gw_connect.rss_per_connection_bytes,
            ratio(
                gw_connect.rss_per_connection_bytes as f64,
                echo.rss_per_connection_bytes as f64
            ),
            verdict(gw.rss_per_connection_bytes <= 10240),
        );
        let _ = writeln!(
            m,
            "| connects/s | {:.0} | {:.0} | {:.2} | {:.0} | {:.2} | ≥ 5000 without, ≥ 2000 with $connect: {} / {} |\n",
            echo.connects_per_sec,
            gw.connects_per_sec,
            ratio(gw.connects_per_sec, echo.connects_per_sec),
            gw_connect.connects_per_sec,
            ratio(gw_connect.connects_per_sec, echo.connects_per_sec),
            verdict(gw.connects_per_sec >= 5000.0),
            verdict(gw_connect.connects_per_sec >= 2000.0),
        );
        self.json.insert(
            "idle".into(),
            json!({ "baseline": echo, "wsgate": gw, "wsgate_with_connect": gw_connect }),
        );
    }

    fn load_rows(m: &mut String, name: &str, echo: &Load, gw: &Load) {
        let _ = writeln!(
            m,
            "| {name}: messages/s | {:.0} | {:.0} | {:.2} |\n| {name}: p50 | {} µs | {} µs | {:.2}× |\n| {name}: p99 | {} µs | {} µs | {:.2}× |\n| {name}: p99.9 | {} µs | {} µs | {:.2}× |",
            echo.messages_per_sec,
            gw.messages_per_sec,
            ratio(gw.messages_per_sec, echo.messages_per_sec),
            echo.p50_us,
            gw.p50_us,
            ratio(gw.p50_us as f64, echo.p50_us as f64),
            echo.p99_us,
            gw.p99_us,
            ratio(gw.p99_us as f64, echo.p99_us as f64),
            echo.p999_us,
            gw.p999_us,
            ratio(gw.p999_us as f64, echo.p999_us as f64),
        );
    }

    pub fn routed(&mut self, echo_max: &Load, gw_max: &Load, echo_half: &Load, gw_half: &Load) {
        let m = &mut self.markdown;
        let _ = writeln!(
            m,
            "## Routed messages\n\nEach sender sends a message and waits for the answer: on wsgate through route selection, a real Rust Lambda process behind the Runtime API (`noop`, which returns the body as a route response), and back; on the baseline, an echo. Half load paces every sender at half of wsgate's maximum rate.\n\n| | echo baseline | wsgate | ratio |\n|---|---|---|---|"
        );
        Self::load_rows(m, "max load", echo_max, gw_max);
        Self::load_rows(m, "half load", echo_half, gw_half);
        let share = ratio(gw_max.messages_per_sec, echo_max.messages_per_sec);
        let _ = writeln!(
            m,
            "\nTargets: at max load ≥ 2× the rate before this work ({ROUTED_BEFORE:.0} msg/s) and ≥ 10% of the baseline: {:.2}× ({}), {:.1}% ({}); p99 ≤ 2 ms at half load, the senders' pacing spread evenly over each period: {:.2} ms ({}).\n",
            gw_max.messages_per_sec / ROUTED_BEFORE,
            verdict(gw_max.messages_per_sec >= 2.0 * ROUTED_BEFORE),
            share * 100.0,
            verdict(share >= 0.1),
            gw_half.p99_us as f64 / 1000.0,
            verdict(gw_half.p99_us <= 2000),
        );
        self.json.insert(
            "routed".into(),
            json!({ "max": { "baseline": echo_max, "wsgate": gw_max }, "half": { "baseline": echo_half, "wsgate": gw_half } }),
        );
    }

    pub fn single(&mut self, echo: &Load, gw: &Load) {
        let m = &mut self.markdown;
        let _ = writeln!(
            m,
            "## One sender\n\nOne socket sends a message, waits for the answer, and sends the next: the round trip of one routed message when nothing else runs.\n\n| | echo baseline | wsgate | ratio |\n|---|---|---|---|"
        );
        Self::load_rows(m, "one sender", echo, gw);
        let _ = writeln!(
            m,
            "\nTargets: p50 ≤ 150 µs: {} µs ({}); p99 ≤ 400 µs: {} µs ({}).\n",
            gw.p50_us,
            verdict(gw.p50_us <= 150),
            gw.p99_us,
            verdict(gw.p99_us <= 400),
        );
        self.json
            .insert("single".into(), json!({ "baseline": echo, "wsgate": gw }));
    }

    pub fn cold(&mut self, times_ms: &[f64]) {
        let m = &mut self.markdown;
        let mut sorted = times_ms.to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
        let _ = writeln!(
            m,
            "## Cold start\n\nThe first message to a function that has no instance yet, on a fresh gateway each time: the `noop` process starts, initialises, asks for work and answers. Reported, not compared.\n\n| rounds | median | all |\n|---|---|---|\n| {} | {median:.1} ms | {} |\n",
            times_ms.len(),
            times_ms
                .iter()
                .map(|v| format!("{v:.1} ms"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        self.json.insert("cold_start_ms".into(), json!(times_ms));
    }

    pub fn pushes(
        &mut self,
        push: &Load,
        delivered_per_sec: f64,
        unsigned: &Load,
        unsigned_delivered: f64,
        echo_send: &Load,
    ) {
        let m = &mut self.markdown;
        let _ = writeln!(
            m,
            "## Pushes\n\n8 keep-alive HTTP clients POST to `@connections` of {} sockets, signed with SigV4 as SDKs sign (checked, as by default), and unsigned to a gateway with `sigv4 = false`; the baseline is the echo server's send rate to as many sockets.\n\n| | echo baseline | wsgate (SigV4) | ratio | wsgate (`sigv4 = false`) | ratio |\n|---|---|---|---|---|---|",
            push.connections
        );
        let _ = writeln!(
            m,
            "| deliveries/s | {:.0} | {:.0} | {:.2} | {:.0} | {:.2} |\n| POST p50 | | {} µs | | {} µs | |\n| POST p99 | | {} µs | | {} µs | |\n| POST p99.9 | | {} µs | | {} µs | |",
            echo_send.messages_per_sec,
            delivered_per_sec,
            ratio(delivered_per_sec, echo_send.messages_per_sec),
            unsigned_delivered,
            ratio(unsigned_delivered, echo_send.messages_per_sec),
            push.p50_us,
            unsigned.p50_us,
            push.p99_us,
            unsigned.p99_us,
            push.p999_us,
            unsigned.p999_us,
        );
        let _ = writeln!(
            m,
            "\nTarget: ≥ 20000 POSTs/s delivered: {:.0} ({}).\n",
            delivered_per_sec,
            verdict(delivered_per_sec >= 20000.0)
        );
        self.json.insert(
            "pushes".into(),
            json!({
                "wsgate": push,
                "delivered_per_sec": delivered_per_sec,
                "unsigned": unsigned,
                "unsigned_delivered_per_sec": unsigned_delivered,
                "baseline": echo_send,
            }),
        );
    }

    pub fn backends(&mut self, runs: &[(crate::backends::Fanout, Vec<crate::backends::Drain>)]) {
        let m = &mut self.markdown;
        let _ = writeln!(
            m,
            "## The app on each offline backend\n\nThe app from `template.yaml` with its release handler binaries, end to end through the emulator's server, each scenario on a fresh app. **Fan-out**: one `NotifyUser` message to a user with {} sockets: SQS → `notify-user` (GSI query, batched sends) → `NotifyConnection` → `notify-connection` → `@connections` → every socket; the time until the last socket has it (median of 5). **Backlog**: N `NotifyConnection` messages for {} sockets (one user each) queued while the gateway is stopped (SIGSTOP, so nobody polls), then the time from its continuation until every socket has all of its own. Settings as the template deploys them: batch size 10, 5 pollers per queue (as Lambda starts an SQS mapping), up to 10 instances per function.\n",
            runs.first().map_or(0, |r| r.0.sockets),
            runs.first()
                .and_then(|r| r.1.first())
                .map_or(0, |d| d.sockets),
        );
        let _ = writeln!(
            m,
            "| backend | start to ready | fan-out: last socket | backlog | queued at | drained in | delivered | duplicates | dead letters |\n|---|---|---|---|---|---|---|---|---|"
        );
        for (fan, drains) in runs {
            let mut sorted = fan.last_socket_ms.clone();
            sorted.sort_by(f64::total_cmp);
            let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
            for (i, d) in drains.iter().enumerate() {
                let (ready, fanout) = if i == 0 {
                    (
                        format!("{:.0} ms", fan.start_to_ready_ms),
                        format!("{median:.0} ms"),
                    )
                } else {
                    (String::new(), String::new())
                };
                let drained = match d.drain_ms {
                    Some(ms) => format!("{:.1} s", ms / 1000.0),
                    None if d.queued < d.messages => {
                        format!("not run: {} queued in 120 s", d.queued)
                    }
                    None => "gave up after 120 s".to_string(),
                };
                let _ = writeln!(
                    m,
                    "| {} | {ready} | {fanout} | {} | {:.0} msg/s | {drained} | {} | {} | {} |",
                    if i == 0 { fan.backend } else { "" },
                    d.messages,
                    d.queued_per_sec,
                    d.delivered,
                    d.duplicates,
                    d.dead_letters,
                );
            }
        }
        // A run may leave a backend out (`--backends`): say so rather than show a partial table.
        let ran: Vec<&str> = runs.iter().map(|r| r.0.backend).collect();
        let left_out: Vec<&str> = crate::BACKENDS
            .into_iter()
            .filter(|b| !ran.contains(b))
            .collect();
        if !left_out.is_empty() {
            let _ = writeln!(
                m,
                "\nNot run this time: {} (`scripts/bench --backends {}`).",
                left_out.join(", "),
                left_out.join(",")
            );
        }
        // The targets hold for the default backend, scripts/dev's (the first run).
        if let Some((fan, drains)) = runs.first() {
            let mut sorted = fan.last_socket_ms.clone();
            sorted.sort_by(f64::total_cmp);
            let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
            let two_k = drains.iter().find(|d| d.messages == 2000);
            let dead: usize = drains.iter().map(|d| d.dead_letters).sum();
            let _ = writeln!(
                m,
                "\nTargets on the default backend ({}): a 2 000-message backlog in ≤ 10 s: {}; one message to 1 000 sockets in ≤ 1.5 s: {median:.0} ms ({}); no dead letters in a healthy run: {dead} ({}).\n",
                fan.backend,
                two_k.map_or("not run".into(), |d| match d.drain_ms {
                    Some(ms) => format!("{:.1} s ({})", ms / 1000.0, verdict(ms <= 10_000.0)),
                    None => "gave up (missed)".into(),
                }),
                verdict(median <= 1500.0),
                verdict(dead == 0),
            );
        }
        self.json.insert(
            "backends".into(),
            json!(
                runs.iter()
                    .map(|(f, d)| json!({ "fanout": f, "backlogs": d }))
                    .collect::<Vec<_>>()
            ),
        );
    }

    pub fn peer(&mut self, sides: &[crate::peer::Side]) {
        let m = &mut self.markdown;
        let _ = writeln!(
            m,
            "## The same Node handler beside serverless-offline\n\nOne Serverless Framework v3 service (`bench/peer`: `serverless.yml` with a `$connect` and an `echo` route, `handler.js` answering with the message's body as a route response), served by wsgate (`--serverless`, `nodejs20.x`: each function a Node process behind the Lambda Runtime API, up to 10) and by serverless-offline 13.9.0 (the handler run in serverless-offline's own Node process), with the routed-message load above. CPU per message is measured over the max-load run: the server's own process, and for wsgate its function processes beside it.\n\n| | {} | {} |\n|---|---|---|",
            sides.first().map_or("", |s| s.server),
            sides.get(1).map_or("", |s| s.server),
        );
        let row = |m: &mut String, name: &str, f: &dyn Fn(&crate::peer::Side) -> String| {
            let _ = writeln!(
                m,
                "| {name} | {} |",
                sides.iter().map(f).collect::<Vec<_>>().join(" | ")
            );
        };
        let n = sides.first().map_or(0, |s| s.max.connections);
        row(m, &format!("{n} senders: messages/s"), &|s| {
            format!("{:.0}", s.max.messages_per_sec)
        });
        row(m, &format!("{n} senders: p50 / p99"), &|s| {
            format!("{} / {} µs", s.max.p50_us, s.max.p99_us)
        });
        row(m, "one sender: messages/s", &|s| {
            format!("{:.0}", s.one.messages_per_sec)
        });
        row(m, "one sender: p50 / p99", &|s| {
            format!("{} / {} µs", s.one.p50_us, s.one.p99_us)
        });
        row(m, "server's own CPU per message", &|s| {
            format!("{:.0} µs", s.server_cpu_us)
        });
        row(m, "function processes' CPU per message", &|s| {
            s.function_cpu_us
                .map_or("(in the server's)".into(), |c| format!("{c:.0} µs"))
        });
        let _ = writeln!(m);
        self.json.insert("peer".into(), json!(sides));
    }

    pub fn bursts(&mut self, runs: &[crate::burst::Burst]) {
        let Some(first) = runs.first() else { return };
        let m = &mut self.markdown;
        let _ = writeln!(
            m,
            "## The app under a burst\n\n{} sockets of {} users are open; {} `NotifyUser` messages are queued at once (SendMessageBatch, 8 senders), and the time runs from the first send until every socket has every notification for its user ({} in all). The whole path: `notify-user` (one GSI query per user in each batch of ten, its sends batched), `notify-connection`, `@connections`. Each run on a fresh app from `template.yaml`; *debug* is the build `scripts/dev` runs (the gateway and the handlers), *release* the release build of both.\n\n| backend | build | queued in | last delivery | delivered | duplicates | dead letters |\n|---|---|---|---|---|---|---|",
            first.sockets, first.users, first.messages, first.deliveries,
        );
        for r in runs {
            let _ = writeln!(
                m,
                "| {} | {} | {:.1} s | {} | {} / {} | {} | {} |",
                r.backend,
                r.build,
                r.sent_ms / 1000.0,
                r.last_ms.map_or("gave up after 180 s".into(), |ms| format!(
                    "{:.1} s",
                    ms / 1000.0
                )),
                r.delivered,
                r.deliveries,
                r.duplicates,
                r.dead_letters,
            );
        }
        let target = |build: &str, limit_s: f64| {
            runs.iter()
                .find(|r| r.backend == first.backend && r.build == build)
                .map_or("not run".to_string(), |r| match r.last_ms {
                    Some(ms) => {
                        format!("{:.1} s ({})", ms / 1000.0, verdict(ms <= limit_s * 1000.0))
                    }
                    None => "gave up (missed)".into(),
                })
        };
        let _ = writeln!(
            m,
            "\nTargets on the default backend ({}): ≤ 10 s with scripts/dev's debug build: {}; ≤ 5 s with release builds: {}.\n",
            first.backend,
            target("debug", 10.0),
            target("release", 5.0),
        );
        self.json.insert("bursts".into(), json!(runs));
    }

    pub fn write(&self, out: &Path) -> anyhow::Result<()> {
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // The hand-written profile analysis goes with the figures it explains.
        let mut markdown = self.markdown.clone();
        if let Ok(profile) = std::fs::read_to_string(out.with_file_name("profile.md")) {
            markdown.push('\n');
            markdown.push_str(&profile);
        }
        std::fs::write(out, markdown)?;
        std::fs::write(
            out.with_extension("json"),
            serde_json::to_string_pretty(&Value::Object(self.json.clone()))?,
        )?;
        Ok(())
    }
}
