//! The names of the contracts' `u8` states, indexed by their on-chain
//! value: the names the indexer stores, the API serves and the CLI prints.

/// Job states (Market `job_state`): index = on-chain value.
pub const JOB_STATES: [&str; 6] = ["none", "open", "bidding", "matched", "cancelled", "expired"];

/// Deal states (Deals `deal_state`): index = on-chain value.
pub const DEAL_STATES: [&str; 8] = [
    "none",
    "active",
    "committed",
    "revealed",
    "challenged",
    "completed",
    "timed_out",
    "rejected",
];

/// Mediation case states (Mediation `case_state`): index = on-chain value.
pub const CASE_STATES: [&str; 4] = ["none", "awaiting_randomness", "voting", "resolved"];

/// The name of on-chain state `value` in `states`, or `"unknown"`.
#[must_use]
pub fn state_name(states: &[&'static str], value: u8) -> &'static str {
    states.get(usize::from(value)).copied().unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_indexed_by_the_on_chain_value() {
        assert_eq!(state_name(&JOB_STATES, 3), "matched");
        assert_eq!(state_name(&DEAL_STATES, 6), "timed_out");
        // `deal_state::REJECTED` in contracts/deals: a rejected deal must
        // never show as "unknown".
        assert_eq!(state_name(&DEAL_STATES, 7), "rejected");
        assert_eq!(state_name(&JOB_STATES, 9), "unknown");
    }
}
