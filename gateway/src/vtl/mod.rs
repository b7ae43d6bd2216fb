//! API Gateway mapping templates: the Velocity (VTL 1.7) dialect with API Gateway's
//! `$input`, `$context`, `$stageVariables` and `$util`.
//!
//! A [`Template`] is parsed once (syntax errors surface at config load, with line and
//! column) and rendered per message against an [`Input`].
//!
//! # Supported
//! - Text passes through; `##` line comments (newline included) and `#* … *#` block
//!   comments are dropped; `#[[ … ]]#` is raw text; `\$x` and `\#if` print literally; a `$`
//!   or `#` that starts no reference or directive (`$5`, `"$"`, `#fff`) is plain text.
//! - References `$a`, `${a}`, `$!a`, `$!{a}`, with properties (`$a.b`, a map key), method
//!   calls (`$a.m(x, y)`) and indexes (`$a[0]`, `$a['k']`; a Velocity 2 feature).
//!   A null or undefined reference prints nothing, as on API Gateway (plain Velocity
//!   would print its source text); `$!` is accepted and means the same.
//! - `#set` (also `#set($map.key = …)`; a null value leaves the variable unchanged, as in
//!   Velocity 1.7), `#if`/`#elseif`/`#else`/`#end`, `#foreach($x in …)` over lists, ranges
//!   `[1..n]` and map values, with `$foreach.index`/`count`/`hasNext`/`first`/`last`/`parent`,
//!   `$velocityCount` (1-based) and `$velocityHasNext`; `#break`, `#stop`; braced `#{if}` forms.
//! - Expressions: `'…'` (literal) and `"…"` (interpolated) strings, integers, floats,
//!   `true`/`false`/`null`, lists, maps `{"k": v}`, ranges, `== != < <= > >= && || !` and
//!   `eq ne lt le gt ge and or not`, `+ - * / %` (Java integer arithmetic, string `+`
//!   concatenation), parentheses. Truthiness as Velocity 1.7: only null and false are false.
//! - Whitespace: a line holding only directives and comments disappears, indentation and
//!   newline included, so JSON templates laid out like AWS's examples render cleanly.
//! - `$input.body` (`{}` for an empty payload), `$input.json(path)` (JSON text; a definite
//!   path that matches nothing gives `""`), `$input.path(path)` (a value to walk; null when
//!   nothing matches), `$input.params()` (map of `path`, `querystring`, `header`) and
//!   `$input.params(name)` (path, then query string, then header; `""` when absent).
//!   A body that is not JSON fails `json()`/`path()` with "Could not parse request body into json".
//! - JSONPath (Jayway's shapes): `$`, `.key`, `['key']`, `[n]`, `[-n]`, `[a,b]`, `[a:b]`,
//!   `[*]`, `.*`, `..key`, `..*`, `.length()`; a path without `$` is read as `$.path`.
//! - `$context.*` (any nesting of the context JSON, mutable with `#set`), `$stageVariables.x`.
//! - `$util.escapeJavaScript` (Commons Lang rules: `\'`, `\"`, `\\`, `\/`, `\n`…, `\uXXXX`
//!   for control and non-ASCII characters), `parseJson`, `toJson` (not in API Gateway's
//!   documentation; provided anyway), `urlEncode`/`urlDecode` (Java's form encoding),
//!   `base64Encode`/`base64Decode`. Any other `$util` or `$input` method is a render error.
//! - Java methods: on strings `length isEmpty substring charAt indexOf lastIndexOf contains
//!   startsWith endsWith equals equalsIgnoreCase toLowerCase toUpperCase trim concat replace
//!   replaceAll replaceFirst matches split toString` (the regex ones use the `regex` crate:
//!   no look-around or back-references); on lists `size isEmpty get contains indexOf add
//!   addAll set remove clear`; on maps `get put containsKey containsValue keySet values
//!   entrySet size isEmpty remove putAll` (entries have `key`/`value`); on numbers
//!   `intValue longValue doubleValue floatValue`. An unknown method on these yields null,
//!   as in Velocity.
//! - Printing: strings as is, integers without `.0`, floats as Java's `Double.toString`,
//!   maps as `{k=v, k2=v2}`, template lists as `[a, b]`, JSON arrays (from `$input.path` or
//!   `parseJson`) as compact JSON, as API Gateway does.
//!
//! # Refused, with a parse error
//! `#macro`, `#parse`, `#include`, `#define`, `#evaluate` (and so macro calls).
//!
//! # Not supported
//! JSONPath filters (`[?(…)]`) and scripts; hyphens in reference names (Velocity 1.7
//! allowed them; `$a-1` here is `$a` followed by `-1`); directives inside `"…"` strings;
//! string indexes count characters, not UTF-16 units; integers beyond 64 bits.

mod ast;
mod eval;
mod expr;
mod json;
mod jsonpath;
mod lexer;
mod methods;
mod parse;
mod util;
mod value;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

/// A mapping template, parsed once when the config loads.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<ast::Node>,
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, VtlError> {
        parse::parse(source).map(|nodes| Template { nodes })
    }

    /// Evaluates the template for one request (or one integration response).
    pub fn render(&self, input: &Input<'_>) -> Result<String, VtlError> {
        eval::render(&self.nodes, input)
    }
}

/// What a template can read.
pub struct Input<'a> {
    /// `$input.body`: the raw payload (the client's message, or the integration's answer for response templates).
    pub body: &'a str,
    /// `$input.params().header` / `.querystring` / `.path`, and `$input.params('name')` (looked up in path, then querystring, then header, as AWS does).
    pub headers: &'a BTreeMap<String, String>,
    pub querystring: &'a BTreeMap<String, String>,
    pub path: &'a BTreeMap<String, String>,
    /// `$context`: a JSON object, possibly nested (`$context.identity.sourceIp`, `$context.authorizer.principalId`, `$context.error.message`).
    pub context: &'a serde_json::Value,
    /// `$stageVariables`.
    pub stage_variables: &'a BTreeMap<String, String>,
}

/// A template that cannot be parsed or evaluated: where, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct VtlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}
