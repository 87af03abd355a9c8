//! `pond.toml`: settings a person would otherwise repeat on every command.
//! The file is `$POND_CONFIG`, else `~/.pond/pond.toml`. A `pond.toml` in
//! the current directory is never read by itself: one in a cloned
//! repository could point the deployment (and so every approval and
//! permit) or the container runtime at an attacker's. Each key stands for an environment variable, and
//! is applied only where that variable is not set, so a flag beats the
//! environment, which beats the file, which beats the default. Relative
//! paths in the file are relative to the file's directory.
//!
//! ```toml
//! rpc = "http://127.0.0.1:8547"
//! graphql = "http://127.0.0.1:4000/graphql"
//! deployment = "deployments/devnode.json"
//! keystore = "me"
//! keystore-dir = "keys"
//! store-dir = "store"
//! container-runtime = "podman"
//! ```

use std::path::{Path, PathBuf};

/// Each key, the variable it sets, and whether it is a path.
const KEYS: [(&str, &str, bool); 7] = [
    ("rpc", "POND_RPC", false),
    ("graphql", "POND_GRAPHQL", false),
    ("deployment", "POND_DEPLOYMENT", true),
    ("keystore", "POND_KEYSTORE", false),
    ("keystore-dir", "POND_KEYSTORE_DIR", true),
    ("store-dir", "POND_STORE_DIR", true),
    ("container-runtime", "POND_CONTAINER_RUNTIME", false),
];

/// The configuration file in use, if any.
fn location() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("POND_CONFIG") {
        return Some(path.into());
    }
    let home = PathBuf::from(std::env::var_os("HOME")?).join(".pond/pond.toml");
    home.is_file().then_some(home)
}

/// The variables the file sets (those not already set), or why the file
/// is refused.
///
/// # Errors
/// The file cannot be read, is not TOML, or has an unknown key or a
/// non-string value.
pub(crate) fn settings() -> eyre::Result<Vec<(&'static str, String)>> {
    let Some(path) = location() else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| eyre::eyre!("reading {}: {e}", path.display()))?;
    parse(&text, &path)
}

fn parse(text: &str, path: &Path) -> eyre::Result<Vec<(&'static str, String)>> {
    let table: toml::Table = text
        .parse()
        .map_err(|e| eyre::eyre!("{} is not valid TOML: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for (key, value) in &table {
        let Some((_, variable, is_path)) = KEYS.iter().find(|(k, _, _)| k == key) else {
            let known: Vec<&str> = KEYS.iter().map(|(k, _, _)| *k).collect();
            eyre::bail!(
                "{}: unknown key `{key}` (known: {})",
                path.display(),
                known.join(", ")
            );
        };
        let Some(value) = value.as_str() else {
            eyre::bail!("{}: `{key}` must be a string", path.display());
        };
        if std::env::var_os(variable).is_some() {
            continue;
        }
        let value = if *is_path && Path::new(value).is_relative() {
            base.join(value).display().to_string()
        } else {
            value.to_owned()
        };
        out.push((*variable, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_variables_and_paths_follow_the_file() {
        let set = parse(
            "rpc = \"http://node:8547\"\ndeployment = \"d.json\"\nstore-dir = \"/abs\"\n",
            Path::new("/etc/pond/pond.toml"),
        )
        .unwrap_or_default();
        assert!(set.contains(&("POND_RPC", "http://node:8547".into())));
        assert!(set.contains(&("POND_DEPLOYMENT", "/etc/pond/d.json".into())));
        assert!(set.contains(&("POND_STORE_DIR", "/abs".into())));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let at = Path::new("pond.toml");
        assert!(
            parse("rcp = \"x\"", at).is_err_and(|e| e.to_string().contains("unknown key `rcp`"))
        );
        assert!(parse("rpc = 5", at).is_err());
        assert!(parse("rpc = ", at).is_err());
    }
}
