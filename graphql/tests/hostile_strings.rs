//! Strings nobody expected, from the chain and from clients. Every string
//! an event carries (module, input, result and metadata URIs) is indexed
//! the same way on SQLite and PostgreSQL, NUL included (stored as U+FFFD:
//! PostgreSQL text cannot hold U+0000, and one such job used to halt every
//! PostgreSQL indexer for good); a control character in a filter or a
//! cursor is a clear input error on both backends; and normal queries are
//! answered afterwards.

mod common;

use alloy::primitives::{B256, U256};
use common::{api, scaled_out_api, Api};
use pond_bindings::{market::IMarket, registry};
use pond_deploy::testkit::{commitment, event, ok, tokens};

const HOSTILE: &str = "ipfs://a\0b\u{1}\u{7f}\u{9f}\u{202e}é🦀";
const STORED: &str = "ipfs://a\u{FFFD}b\u{1}\u{7f}\u{9f}\u{202e}é🦀";

/// Registers, updates, posts and reveals with hostile strings; returns
/// the deal id.
async fn hostile_lifecycle(api: &Api) -> U256 {
    let s = &api.stack;
    let (creator, provider) = (s.accounts[1], s.accounts[2]);
    s.fund(creator, tokens(1_000)).await;
    s.fund(provider, tokens(500)).await;
    let hardware = registry::Hardware {
        gpuCount: 1,
        gpuMemoryGb: 24,
        cpuCores: 16,
        ramGb: 64,
        diskGb: 500,
    };
    ok(s.registry()
        .registerProvider(hardware.clone(), "\0".into())
        .from(provider)
        .send()
        .await)
    .await;
    ok(s.registry()
        .updateProvider(hardware, HOSTILE.into())
        .from(provider)
        .send()
        .await)
    .await;
    let offer = s.post_offer(provider, tokens(80)).await;
    let mut spec = s.job_spec(tokens(100), offer, 0).await;
    spec.moduleUri = HOSTILE.into();
    spec.inputUri = "\0\0\0".into();
    let matched: IMarket::JobMatched = event(&s.post_job(creator, spec).await);
    let (deal, salt, result) = (matched.dealId, B256::repeat_byte(5), B256::repeat_byte(6));
    ok(s.deals()
        .commitResult(deal, commitment(deal, provider, result, salt))
        .from(provider)
        .send()
        .await)
    .await;
    ok(s.deals()
        .revealResult(deal, result, HOSTILE.into(), salt)
        .from(provider)
        .send()
        .await)
    .await;
    deal
}

async fn hostile_strings_on(api: Api, backend: &str) {
    let deal = hostile_lifecycle(&api).await;
    api.caught_up().await;
    let provider = format!("{:#x}", api.stack.accounts[2]);
    let answer = api
        .query(&format!(
            "{{ jobs(first: 1) {{ nodes {{ moduleUri inputUri }} }} \
               deal(id: \"{deal}\") {{ resultUri }} \
               provider(address: \"{provider}\") {{ metadataUri }} }}"
        ))
        .await;
    let data = &answer["data"];
    assert_eq!(
        data["jobs"]["nodes"][0]["moduleUri"], STORED,
        "{backend}: {answer}"
    );
    assert_eq!(
        data["jobs"]["nodes"][0]["inputUri"],
        "\u{FFFD}".repeat(3),
        "{backend}"
    );
    assert_eq!(data["deal"]["resultUri"], STORED, "{backend}: {answer}");
    assert_eq!(
        data["provider"]["metadataUri"], STORED,
        "{backend}: {answer}"
    );

    // Control characters in filters and cursors: the same clear error.
    let cursor = |id: &str| -> String {
        serde_json::to_vec(&(0, id))
            .expect("json")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let nul_cursor = cursor("1\0");
    // The same cursor without the NUL is a fine cursor.
    let fine = api
        .query(&format!(
            "{{ jobs(after: \"{}\") {{ nodes {{ id }} }} }}",
            cursor("1")
        ))
        .await;
    assert!(fine["errors"].is_null(), "{backend}: {fine}");
    for (query, expected) in [
        (
            r#"{ jobs(where: { state: "open\u0000" }) { nodes { id } } }"#,
            "state: expected",
        ),
        (
            r#"{ deals(where: { state: "\u0007" }) { nodes { id } } }"#,
            "state: expected",
        ),
        (
            r#"{ events(where: { name: "JobPosted\u0000" }) { name } }"#,
            "name: expected",
        ),
        (
            r#"{ events(where: { contract: "Market\n" }) { name } }"#,
            "contract: expected",
        ),
        (
            &format!(
                "{{ jobs(where: {{ state: \"{}\" }}) {{ nodes {{ id }} }} }}",
                "o".repeat(65)
            ),
            "state: expected",
        ),
        (
            &format!("{{ jobs(after: \"{nul_cursor}\") {{ nodes {{ id }} }} }}"),
            "malformed cursor",
        ),
    ] {
        let answer = api.query(query).await;
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{backend}: {query}: {answer}");
        assert!(
            !message.contains("internal"),
            "{backend}: {query}: {answer}"
        );
    }

    // The index keeps following the chain, and normal queries are served.
    api.stack.mine().await;
    api.caught_up().await;
    let answer = api
        .query(r#"{ _meta { isReady } jobs(where: { state: "matched" }) { nodes { id } } }"#)
        .await;
    assert_eq!(
        answer["data"]["_meta"]["isReady"], true,
        "{backend}: {answer}"
    );
    assert_eq!(
        answer["data"]["jobs"]["nodes"][0]["id"], "1",
        "{backend}: {answer}"
    );
    let _ = api.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_strings_are_indexed_and_refused_alike_on_sqlite() {
    hostile_strings_on(api().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_strings_are_indexed_and_refused_alike_on_postgres() {
    hostile_strings_on(scaled_out_api().await, "postgres").await;
}
