//! An agent's Prometheus metrics: what it did (jobs taken, runs, commits,
//! reveals, votes), what it earned, and what went wrong (failed passes,
//! refused steps), served as text at `/metrics`.

use std::{
    fmt::Write as _,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

/// One metric: its name, help text and Prometheus type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Its name (`pond_provider_runs_total`).
    pub name: &'static str,
    /// What it counts.
    pub help: &'static str,
    /// `counter` or `gauge`.
    pub kind: &'static str,
}

/// Passes over the chain.
pub const PASSES: Metric = Metric {
    name: "pond_agent_passes_total",
    help: "Passes over the chain.",
    kind: "counter",
};
/// Passes that failed (the chain, the RPC endpoint or the disk).
pub const PASS_ERRORS: Metric = Metric {
    name: "pond_agent_pass_errors_total",
    help: "Passes that failed (chain, RPC endpoint or disk).",
    kind: "counter",
};
/// Steps the contracts refused (simulated; nothing sent).
pub const REFUSED: Metric = Metric {
    name: "pond_agent_refused_steps_total",
    help: "Steps the contracts refused (nothing sent).",
    kind: "counter",
};
/// Open jobs taken with the offer.
pub const JOBS_TAKEN: Metric = Metric {
    name: "pond_provider_jobs_taken_total",
    help: "Open jobs taken with the offer.",
    kind: "counter",
};
/// Bids sent in auctions.
pub const BIDS: Metric = Metric {
    name: "pond_provider_bids_total",
    help: "Bids sent in auctions.",
    kind: "counter",
};
/// Runs that produced outputs.
pub const RUNS_OK: Metric = Metric {
    name: "pond_provider_runs_ok_total",
    help: "Job runs that produced outputs.",
    kind: "counter",
};
/// Runs that failed.
pub const RUNS_FAILED: Metric = Metric {
    name: "pond_provider_runs_failed_total",
    help: "Job runs that failed.",
    kind: "counter",
};
/// Seconds spent running jobs.
pub const RUN_MILLISECONDS: Metric = Metric {
    name: "pond_provider_run_milliseconds_total",
    help: "Milliseconds spent fetching and running jobs.",
    kind: "counter",
};
/// Results committed.
pub const COMMITTED: Metric = Metric {
    name: "pond_provider_results_committed_total",
    help: "Results committed.",
    kind: "counter",
};
/// Results revealed.
pub const REVEALED: Metric = Metric {
    name: "pond_provider_results_revealed_total",
    help: "Results revealed.",
    kind: "counter",
};
/// Deals finalized after the judge window.
pub const FINALIZED: Metric = Metric {
    name: "pond_provider_deals_finalized_total",
    help: "Deals finalized after the judge window.",
    kind: "counter",
};
/// Total earned, as the registry records it (token base units).
pub const PROVIDER_EARNED: Metric = Metric {
    name: "pond_provider_earned",
    help: "Total earned as the registry records it (token base units).",
    kind: "gauge",
};
/// Votes worked out.
pub const VOTES_WORKED_OUT: Metric = Metric {
    name: "pond_validator_votes_worked_out_total",
    help: "Votes worked out (job re-run and outputs judged).",
    kind: "counter",
};
/// Votes committed.
pub const VOTES_COMMITTED: Metric = Metric {
    name: "pond_validator_votes_committed_total",
    help: "Votes committed.",
    kind: "counter",
};
/// Votes revealed.
pub const VOTES_REVEALED: Metric = Metric {
    name: "pond_validator_votes_revealed_total",
    help: "Votes revealed.",
    kind: "counter",
};
/// Total earned by voting (token base units).
pub const VALIDATOR_EARNED: Metric = Metric {
    name: "pond_validator_earned",
    help: "Total earned by voting (token base units).",
    kind: "gauge",
};
/// Total slashed (token base units).
pub const VALIDATOR_SLASHED: Metric = Metric {
    name: "pond_validator_slashed",
    help: "Total slashed (token base units).",
    kind: "gauge",
};

/// The metrics of one agent (cheap to clone; clones share the values).
#[derive(Debug, Clone)]
pub struct Metrics {
    values: Arc<Vec<(Metric, AtomicU64)>>,
}

impl Metrics {
    /// Metrics for `which` (each starts at zero).
    #[must_use]
    pub fn new(which: &[Metric]) -> Self {
        Self {
            values: Arc::new(which.iter().map(|m| (*m, AtomicU64::new(0))).collect()),
        }
    }

    fn slot(&self, metric: Metric) -> Option<&AtomicU64> {
        self.values
            .iter()
            .find(|(m, _)| *m == metric)
            .map(|(_, v)| v)
    }

    /// Adds `n` to a counter.
    pub fn add(&self, metric: Metric, n: u64) {
        if let Some(value) = self.slot(metric) {
            value.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Sets a gauge.
    pub fn set(&self, metric: Metric, n: u64) {
        if let Some(value) = self.slot(metric) {
            value.store(n, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition of every metric.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (m, value) in self.values.iter() {
            let _ = writeln!(
                out,
                "# HELP {} {}\n# TYPE {} {}\n{} {}",
                m.name,
                m.help,
                m.name,
                m.kind,
                m.name,
                value.load(Ordering::Relaxed)
            );
        }
        out
    }

    /// `GET /metrics`, to merge into an agent's HTTP server.
    pub fn router(&self) -> axum::Router {
        let metrics = self.clone();
        axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let text = metrics.render();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4",
                        )],
                        text,
                    )
                }
            }),
        )
    }
}

/// A token amount as a gauge value (saturating: a gauge is a float in
/// Prometheus anyway).
#[must_use]
pub fn amount(value: alloy::primitives::U256) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_gauges_set_and_both_render() {
        let metrics = Metrics::new(&[RUNS_OK, PROVIDER_EARNED]);
        metrics.add(RUNS_OK, 2);
        metrics.add(RUNS_OK, 1);
        metrics.set(PROVIDER_EARNED, 975);
        metrics.set(PROVIDER_EARNED, 1950);
        // Not registered: ignored.
        metrics.add(BIDS, 5);
        let text = metrics.render();
        assert!(
            text.contains(
                "# TYPE pond_provider_runs_ok_total counter\npond_provider_runs_ok_total 3\n"
            ),
            "{text}"
        );
        assert!(text.contains("pond_provider_earned 1950\n"), "{text}");
        assert!(!text.contains("bids"), "{text}");
    }
}
