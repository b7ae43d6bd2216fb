//! Which description of the API to run when none is named: what is in the
//! folder, in the order a project would mean it.

use std::path::{Path, PathBuf};

/// A description of the API, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// wsgate's own `wsgate.toml`.
    Config(PathBuf),
    /// A SAM / CloudFormation template (also `sam build`'s and `cdk synth`'s output).
    Template(PathBuf),
    /// A Serverless Framework service file.
    Serverless(PathBuf),
}

impl Input {
    pub fn path(&self) -> &Path {
        match self {
            Self::Config(p) | Self::Template(p) | Self::Serverless(p) => p,
        }
    }
}

/// What is looked for, in order: `wsgate.toml` (the choices a template cannot
/// express), `template.yaml`/`.yml`, `sam build`'s `.aws-sam/build/template.yaml`,
/// `serverless.yml`/`.yaml`, then a single `cdk.out/*.template.json`.
pub const LOOKED_FOR: &str = "wsgate.toml, template.yaml, .aws-sam/build/template.yaml, serverless.yml, cdk.out/*.template.json";

pub fn discover(dir: &Path) -> Option<Input> {
    let file = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
    if let Some(p) = file("wsgate.toml") {
        return Some(Input::Config(p));
    }
    // A built template is what `sam local` would run after `sam build`.
    for name in [
        ".aws-sam/build/template.yaml",
        "template.yaml",
        "template.yml",
    ] {
        if let Some(p) = file(name) {
            return Some(Input::Template(p));
        }
    }
    for name in ["serverless.yml", "serverless.yaml"] {
        if let Some(p) = file(name) {
            return Some(Input::Serverless(p));
        }
    }
    let mut synthesized: Vec<PathBuf> = std::fs::read_dir(dir.join("cdk.out"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".template.json"))
        .collect();
    synthesized.sort();
    (synthesized.len() == 1).then(|| Input::Template(synthesized.remove(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_says_what_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(discover(d), None);
        std::fs::create_dir_all(d.join("cdk.out")).unwrap();
        std::fs::write(d.join("cdk.out/App.template.json"), "{}").unwrap();
        assert_eq!(
            discover(d),
            Some(Input::Template(d.join("cdk.out/App.template.json")))
        );
        std::fs::write(d.join("serverless.yml"), "").unwrap();
        assert_eq!(
            discover(d),
            Some(Input::Serverless(d.join("serverless.yml")))
        );
        std::fs::write(d.join("template.yaml"), "").unwrap();
        assert_eq!(discover(d), Some(Input::Template(d.join("template.yaml"))));
        std::fs::create_dir_all(d.join(".aws-sam/build")).unwrap();
        std::fs::write(d.join(".aws-sam/build/template.yaml"), "").unwrap();
        assert_eq!(
            discover(d),
            Some(Input::Template(d.join(".aws-sam/build/template.yaml")))
        );
        std::fs::write(d.join("wsgate.toml"), "").unwrap();
        assert_eq!(discover(d), Some(Input::Config(d.join("wsgate.toml"))));
    }
}
