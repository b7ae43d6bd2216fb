//! Mints a token for a user, signed with `TOKEN_SECRET`:
//! `mint-token USER_ID [TTL_SECS]` (a negative TTL makes an expired token).

use anyhow::{Context, bail};
use handlers::token;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(user) = args.next().filter(|u| !u.starts_with('-')) else {
        bail!("usage: mint-token USER_ID [TTL_SECS]  (TOKEN_SECRET must be set)");
    };
    let ttl: i64 = match args.next() {
        Some(t) => t
            .parse()
            .context("TTL_SECS must be a whole number of seconds")?,
        None => 3600,
    };
    let secret = std::env::var("TOKEN_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .context("TOKEN_SECRET is not set; it is the secret tokens are signed with")?;
    println!(
        "{}",
        token::mint(secret.as_bytes(), &user, token::now(), ttl)
    );
    Ok(())
}
