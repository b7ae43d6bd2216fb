//! The set-up scripts say what they install, once: a second run with
//! everything in place prints only the folder it was asked for.

use std::path::Path;

async fn run(script: &str, env: &[(&str, &str)]) -> (String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = tokio::process::Command::new(root.join("scripts").join(script))
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_second_run_of_the_set_up_scripts_is_silent() {
    let venv = testkit::venv_bin()
        .parent()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let (printed, said) = run("python-env", &[("WSGATE_VENV", &venv)]).await;
    assert_eq!(printed, venv);
    assert_eq!(said, "", "python-env spoke on a second run");
    if let Ok(runtime) = std::env::var("WSGATE_NODE_RUNTIME") {
        let (printed, said) = run("node-runtime", &[("WSGATE_NODE_RUNTIME", &runtime)]).await;
        assert_eq!(printed, runtime);
        assert_eq!(said, "", "node-runtime spoke on a second run");
    }
}
