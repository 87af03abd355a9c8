//! `pond vault` through the binary against devnode with the real
//! contracts: a deposit in token units (approving first), balances,
//! a withdrawal; a withdrawal beyond the balance is refused with the
//! vault's named error and sends nothing; bad amounts, a missing key and
//! an RPC endpoint that is down each fail with a one-line reason.

mod common;

use std::process::Output;

use alloy::providers::Provider;
use common::{key_of, printed_text as text, ChainCli};
use pond_deploy::testkit::{ok, tokens, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposits_withdrawals_and_refusals_through_the_binary() {
    let s = Stack::start().await;
    let account = s.node.accounts()[5].clone();
    ok(s.token()
        .mint(account.address, tokens(100))
        .from(s.owner())
        .send()
        .await)
    .await;
    let cli = ChainCli::for_stack(&s, "pond-vault");
    let key = key_of(&account);
    // `--private-key-env KEY` where a command signs; `extra_env` entries
    // override the chain's variables.
    let pond = |extra_env: &[(&str, &str)], args: &[&str]| {
        let mut env = vec![("KEY", key.as_str())];
        env.extend_from_slice(extra_env);
        let mut all = vec!["vault"];
        all.extend_from_slice(args);
        cli.run_with(None, &env, None, &all)
    };
    let balance = |out: &Output| -> serde_json::Value {
        assert!(out.status.success(), "{}", text(out));
        serde_json::from_slice(&out.stdout).expect("JSON")
    };

    let deposited = pond(&[], &["deposit", "12.5", "--private-key-env", "KEY"]);
    assert!(deposited.status.success(), "{}", text(&deposited));
    let mine = balance(&pond(
        &[],
        &["balance", "--private-key-env", "KEY", "--json"],
    ));
    assert_eq!(
        (&mine["wallet"], &mine["available"], &mine["locked"]),
        (&"87.5".into(), &"12.5".into(), &"0".into()),
        "{mine}"
    );
    let withdrew = pond(&[], &["withdraw", "2.25", "--private-key-env", "KEY"]);
    assert!(withdrew.status.success(), "{}", text(&withdrew));
    let address = account.address.to_string();
    let theirs = balance(&pond(&[], &["balance", "--account", &address, "--json"]));
    assert_eq!(theirs["available"], "10.25", "{theirs}");
    assert_eq!(theirs["wallet"], "89.75", "{theirs}");

    // Refused by the vault: named, nothing sent.
    let nonce = s
        .provider
        .get_transaction_count(account.address)
        .await
        .expect("nonce");
    let refused = pond(&[], &["withdraw", "100", "--private-key-env", "KEY"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains(&format!(
            "Vault.InsufficientAvailable({address}, 100000000, 10250000)"
        )),
        "{}",
        text(&refused)
    );
    let after = s
        .provider
        .get_transaction_count(account.address)
        .await
        .expect("nonce");
    assert_eq!(after, nonce, "a refused withdrawal sent a transaction");

    // Bad input and a chain that is down: one clear reason each.
    for (args, env, reason) in [
        (
            vec!["deposit", "1.0000001", "--private-key-env", "KEY"],
            vec![],
            "more than 6 decimal places",
        ),
        (
            vec!["deposit", "12,5", "--private-key-env", "KEY"],
            vec![],
            "is not an amount",
        ),
        (vec!["deposit", "1"], vec![], "this needs an account"),
        (vec!["balance"], vec![], "name an account"),
        (
            vec!["balance", "--account", address.as_str()],
            vec![("POND_RPC", "http://127.0.0.1:9")],
            "cannot reach the chain at http://127.0.0.1:9",
        ),
        (
            vec!["balance", "--account", address.as_str()],
            vec![("POND_DEPLOYMENT", "/nonexistent/deployment.json")],
            "no deployment",
        ),
    ] {
        let out = pond(&env, &args);
        let all = text(&out);
        assert!(!out.status.success(), "{args:?}: {all}");
        assert!(all.contains(reason), "{args:?}: {all}");
        assert!(!all.contains("panicked"), "{args:?}: {all}");
        assert_eq!(all.trim().lines().count(), 1, "not one line: {all}");
        assert!(all.starts_with("pond: "), "{all}");
        assert!(!all.contains(&account.private_key), "{all}");
    }
}
