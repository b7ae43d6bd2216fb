//! Lambda layers, laid out as Lambda lays them out in `/opt`, without `/opt`:
//! each layer is a folder, and each runtime finds its parts through the
//! variables it searches (`PATH` for `bin`, `LD_LIBRARY_PATH` for `lib`,
//! `PYTHONPATH` for `python`, `NODE_PATH` and the resolve hook for
//! `nodejs/node_modules`). A later layer wins over an earlier one, as its files
//! would overwrite theirs in `/opt`.

use std::path::{Path, PathBuf};

/// The search folders of `layers` for one runtime part (e.g. `bin`), latest layer first.
fn existing(layers: &[PathBuf], parts: &[&str]) -> Vec<PathBuf> {
    layers
        .iter()
        .rev()
        .flat_map(|layer| parts.iter().map(move |part| layer.join(part)))
        .filter(|dir| dir.is_dir())
        .collect()
}

fn joined(dirs: &[PathBuf], then: Option<String>) -> Option<String> {
    let mut all: Vec<String> = dirs
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    all.extend(then.filter(|t| !t.is_empty()));
    (!all.is_empty()).then(|| all.join(":"))
}

/// `python/lib/python3.x/site-packages` folders, as pip installs into a layer.
fn site_packages(layer: &Path) -> Vec<PathBuf> {
    let lib = layer.join("python/lib");
    let mut found: Vec<PathBuf> = std::fs::read_dir(lib)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found
}

/// The variables that make a function's layers visible, given the values they
/// extend (`PATH` from the gateway, the function's own `PYTHONPATH`, …).
pub fn env(
    layers: &[PathBuf],
    inherited: impl Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    if layers.is_empty() {
        return Vec::new();
    }
    // As on Lambda: `python/lib/python3.x/site-packages`, then `python`.
    let python: Vec<PathBuf> = layers
        .iter()
        .rev()
        .flat_map(|layer| {
            let mut dirs = site_packages(layer);
            dirs.push(layer.join("python"));
            dirs
        })
        .filter(|d| d.is_dir())
        .collect();
    [
        ("PATH", existing(layers, &["bin"]), true),
        ("LD_LIBRARY_PATH", existing(layers, &["lib"]), false),
        ("PYTHONPATH", python, false),
    ]
    .into_iter()
    .filter_map(|(name, dirs, after)| {
        // Lambda puts /opt/bin last in PATH, and layers first elsewhere.
        let value = if after {
            let mut all: Vec<String> = inherited(name).into_iter().collect();
            all.extend(dirs.iter().map(|d| d.to_string_lossy().into_owned()));
            (!all.is_empty()).then(|| all.join(":"))
        } else {
            joined(&dirs, inherited(name))
        }?;
        Some((name.to_string(), value))
    })
    .collect()
}

/// The layers' `node_modules` folders for a Node major version, in search order.
pub fn node_modules(layers: &[PathBuf], major: Option<u32>) -> Vec<PathBuf> {
    let versioned = major.map(|m| format!("nodejs/node{m}/node_modules"));
    let mut parts: Vec<&str> = versioned.iter().map(String::as_str).collect();
    parts.push("nodejs/node_modules");
    existing(layers, &parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_runtime_sees_its_part_latest_layer_first() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for d in [
            a.join("bin"),
            a.join("python"),
            b.join("python/lib/python3.11/site-packages"),
            b.join("nodejs/node_modules"),
            b.join("nodejs/node20/node_modules"),
            a.join("nodejs/node_modules"),
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        let layers = vec![a.clone(), b.clone()];
        let env: std::collections::BTreeMap<_, _> =
            env(&layers, |k| (k == "PATH").then(|| "/usr/bin".to_string()))
                .into_iter()
                .collect();
        assert_eq!(env["PATH"], format!("/usr/bin:{}", a.join("bin").display()));
        assert_eq!(
            env["PYTHONPATH"],
            format!(
                "{}:{}:{}",
                b.join("python/lib/python3.11/site-packages").display(),
                b.join("python").display(),
                a.join("python").display(),
            )
        );
        assert!(!env.contains_key("LD_LIBRARY_PATH"));
        assert_eq!(
            node_modules(&layers, Some(20)),
            vec![
                b.join("nodejs/node20/node_modules"),
                b.join("nodejs/node_modules"),
                a.join("nodejs/node_modules"),
            ]
        );
        assert!(super::env(&[], |_| None).is_empty());
    }
}
