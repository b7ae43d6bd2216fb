//! `${NAME}` references in a config file, filled from the environment.

/// Replaces `${NAME}`, `${NAME:-default}` (default when NAME is unset or empty) and
/// `${NAME-default}` (default only when NAME is unset), as POSIX shells do.
pub(super) fn expand_env(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| {
            format!(
                "`${{` without a closing `}}` near `{}`",
                &rest[start..].lines().next().unwrap_or_default()
            )
        })?;
        let inner = &after[..end];
        let (name, default, empty_is_unset) = match (inner.split_once(":-"), inner.split_once('-'))
        {
            (Some((n, d)), _) => (n, Some(d), true),
            (None, Some((n, d))) => (n, Some(d), false),
            (None, None) => (inner, None, true),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            // Not a variable reference (e.g. `${request.body.action}`): keep it.
            out.push_str(&rest[start..start + 2 + end + 1]);
        } else {
            match (
                lookup(name).filter(|v| !(empty_is_unset && v.is_empty())),
                default,
            ) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(format!(
                        "the environment variable `{name}` is not set (write `${{{name}:-default}}` to give a default)"
                    ));
                }
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_references_expand() {
        let env = |k: &str| (k == "DIR").then(|| "/t".to_string());
        assert_eq!(expand_env("a ${DIR}/b", env).unwrap(), "a /t/b");
        assert_eq!(expand_env("${NOPE:-target}/x", env).unwrap(), "target/x");
        assert_eq!(
            expand_env("${request.body.action}", env).unwrap(),
            "${request.body.action}"
        );
        assert!(expand_env("${NOPE}", env).unwrap_err().contains("NOPE"));
        let env = |k: &str| (k == "EMPTY").then(String::new);
        assert_eq!(expand_env("[${EMPTY-x}]", env).unwrap(), "[]");
        assert_eq!(expand_env("[${EMPTY:-x}]", env).unwrap(), "[x]");
        assert_eq!(expand_env("[${UNSET-x}]", env).unwrap(), "[x]");
    }
}
