//! Hot reload of function code (`--watch`): when a function's binary, its
//! code folder or one of its layers changes on disk, its next invocation goes
//! to a fresh instance. Sockets stay open and queued messages wait for the
//! fresh instance; an instance busy with an invocation finishes it first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::lambda::Function;

/// Changes closer together than this are one change (a build writes many files).
const SETTLE: Duration = Duration::from_millis(300);

/// Folders never worth watching: dependencies and build output change with
/// installs, not with the code being edited.
const SKIPPED: [&str; 6] = [
    "node_modules",
    ".git",
    "__pycache__",
    "target",
    ".venv",
    ".aws-sam",
];

/// What each function's code is: the files and folders to watch.
fn code_paths(config: &Config, name: &str) -> Vec<PathBuf> {
    let f = &config.functions[name];
    let mut paths = Vec::new();
    // A program given by path is the code (a Rust binary, a bootstrap);
    // an interpreter found on PATH (`node`, `python3`) is not.
    if let Some(program) = f.command.first().map(PathBuf::from)
        && program.components().count() > 1
        && !program.starts_with("/usr")
        && !program.starts_with("/bin")
    {
        paths.push(config.base_dir.join(program));
    }
    let interpreted = f
        .runtime
        .as_deref()
        .is_some_and(|r| r.starts_with("nodejs") || r.starts_with("python"))
        || f.command.iter().any(|a| a.contains("awslambdaric"));
    if interpreted {
        paths.push(
            f.working_dir
                .clone()
                .unwrap_or_else(|| config.base_dir.clone()),
        );
    }
    paths.extend(f.layers.iter().cloned());
    paths
}

/// Every folder under `root` worth a watch (one watch per folder, none below
/// the skipped ones: `node_modules` alone can hold thousands).
fn folders(root: &Path, out: &mut Vec<PathBuf>) {
    if out.len() > 4000 {
        return;
    }
    out.push(root.to_path_buf());
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let skipped = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| SKIPPED.contains(&n));
        if entry.file_type().is_ok_and(|t| t.is_dir()) && !skipped {
            folders(&path, out);
        }
    }
}

/// A watcher that sends the path of every file created, changed or removed
/// in the folders it is then told to watch.
pub fn changes(tx: mpsc::UnboundedSender<PathBuf>) -> notify::Result<notify::RecommendedWatcher> {
    notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && matches!(
                event.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            )
        {
            for path in event.paths {
                let _ = tx.send(path);
            }
        }
    })
}

/// Watches the functions' code until the returned watcher is dropped.
pub fn start(
    config: &Config,
    functions: &BTreeMap<String, Arc<Function>>,
) -> notify::Result<notify::RecommendedWatcher> {
    // Each watched folder, and the functions whose code is (in) it.
    let mut owners: Vec<(PathBuf, Option<PathBuf>, String)> = Vec::new();
    for name in functions.keys() {
        for path in code_paths(config, name) {
            if path.is_dir() {
                let mut dirs = Vec::new();
                folders(&path, &mut dirs);
                owners.extend(dirs.into_iter().map(|d| (d, None, name.clone())));
            } else if let Some(parent) = path.parent() {
                // A file is watched through its folder: builds replace it.
                owners.push((parent.to_path_buf(), Some(path.clone()), name.clone()));
            }
        }
    }
    let (tx, rx) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = changes(tx)?;
    let watched: BTreeSet<PathBuf> = owners.iter().map(|(d, ..)| d.clone()).collect();
    for dir in &watched {
        if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
            tracing::warn!("cannot watch {}: {e}", dir.display());
        }
    }
    tracing::info!(
        "watching the code of {} function(s) in {} folder(s) for changes",
        functions.len(),
        watched.len()
    );
    tokio::spawn(reload_on_change(rx, owners, functions.clone()));
    Ok(watcher)
}

/// Gathers changes until they settle, then reloads each function they touch once.
async fn reload_on_change(
    mut changes: mpsc::UnboundedReceiver<PathBuf>,
    owners: Vec<(PathBuf, Option<PathBuf>, String)>,
    functions: BTreeMap<String, Arc<Function>>,
) {
    while let Some(first) = changes.recv().await {
        let mut changed = vec![first];
        while let Ok(Some(more)) = tokio::time::timeout(SETTLE, changes.recv()).await {
            changed.push(more);
        }
        // Function → the first changed path that is its code.
        let mut touched: BTreeMap<&str, &Path> = BTreeMap::new();
        for path in &changed {
            for (dir, file, name) in &owners {
                let hit = match file {
                    Some(file) => path == file,
                    None => path.parent() == Some(dir.as_path()) || path == dir,
                };
                if hit {
                    touched.entry(name.as_str()).or_insert(path.as_path());
                }
            }
        }
        for (name, path) in touched {
            if let Some(function) = functions.get(name) {
                function.reload(&format!("code changed ({})", path.display()));
            }
        }
    }
}

/// `--build CMD`: runs the build once when sources under `root` change
/// (settled as above, never two at once), shows its output in the log, and
/// says when it fails; the functions keep their last good code, and a build
/// that succeeds reloads them through the code watcher.
pub fn start_build(command: &str, root: &Path) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, rx) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = changes(tx)?;
    let mut dirs = Vec::new();
    folders(root, &mut dirs);
    for dir in &dirs {
        let _ = watcher.watch(dir, RecursiveMode::NonRecursive);
    }
    tracing::info!(
        "watching {} for source changes; they run `{command}`",
        root.display()
    );
    tokio::spawn(build_on_change(rx, command.to_string(), root.to_path_buf()));
    Ok(watcher)
}

async fn build_on_change(
    mut changes: mpsc::UnboundedReceiver<PathBuf>,
    command: String,
    root: PathBuf,
) {
    while let Some(first) = changes.recv().await {
        let mut changed = vec![first];
        while let Ok(Some(more)) = tokio::time::timeout(SETTLE, changes.recv()).await {
            changed.push(more);
        }
        // What the build itself writes (target/…) is not a source change.
        let Some(source) = changed.iter().find(|p| !is_skipped(p, &root)) else {
            continue;
        };
        tracing::info!("[build] {} changed: running `{command}`", source.display());
        let output = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(&root)
            .output()
            .await;
        match output {
            Ok(out) => {
                let text = String::from_utf8_lossy(&out.stderr).into_owned()
                    + &String::from_utf8_lossy(&out.stdout);
                if out.status.success() {
                    tracing::info!("[build] succeeded");
                } else {
                    for line in text.lines().filter(|l| !l.trim().is_empty()) {
                        tracing::warn!("[build] {line}");
                    }
                    tracing::warn!(
                        "[build] failed ({}): the functions keep running their last good code",
                        out.status
                    );
                }
            }
            Err(e) => tracing::warn!("[build] cannot run `{command}`: {e}"),
        }
        // Changes made by the build itself are not a reason to build again.
        while changes.try_recv().is_ok() {}
    }
}

/// Under one of the skipped folders (build output, dependencies).
fn is_skipped(path: &Path, root: &Path) -> bool {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .any(|c| c.as_os_str().to_str().is_some_and(|c| SKIPPED.contains(&c)))
}
