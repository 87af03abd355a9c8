//! The README's lists of RPC methods and host imports match the code.

use std::collections::BTreeSet;

fn section(readme: &str, name: &str) -> String {
    let start = format!("<!-- {name} -->");
    let end = format!("<!-- /{name} -->");
    let from = readme
        .find(&start)
        .map(|i| i + start.len())
        .expect("section start");
    let to = readme.find(&end).expect("section end");
    readme[from..to].to_owned()
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README")
}

#[test]
fn the_rpc_method_list_matches_the_server() {
    let listed: BTreeSet<String> = section(&readme(), "rpc-methods")
        .lines()
        .filter_map(|line| line.strip_prefix("- "))
        .flat_map(|line| line.split(", ").map(|m| m.trim().to_owned()))
        .collect();
    let served: BTreeSet<String> = pond_devnode::rpc::METHODS
        .iter()
        .map(|m| (*m).to_owned())
        .collect();
    assert_eq!(listed, served);
}

#[test]
fn the_host_import_list_matches_the_linker() {
    let listed: BTreeSet<String> = section(&readme(), "host-imports")
        .lines()
        .filter_map(|line| line.strip_prefix("- "))
        .flat_map(|line| {
            let (module, names) = line.split_once(": ").expect("module: names");
            names
                .split(", ")
                .map(move |name| format!("{module}.{}", name.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    let linked: BTreeSet<String> = pond_devnode::hostio::HOST_IMPORTS
        .iter()
        .map(|import| format!("{}.{}", import.module, import.name))
        .collect();
    assert_eq!(listed, linked);
}

#[tokio::test]
async fn every_listed_method_is_served() {
    // A method the server lacks answers -32601; every listed one must not.
    let node = pond_devnode::node::spawn().await.expect("devnode");
    let client = alloy::transports::http::reqwest::Client::new();
    for method in pond_devnode::rpc::METHODS {
        let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": []});
        let answer: serde_json::Value = client
            .post(node.http_url())
            .json(&body)
            .send()
            .await
            .expect("http")
            .json()
            .await
            .expect("json");
        assert_ne!(answer["error"]["code"], -32601, "{method} is not served");
    }
}
