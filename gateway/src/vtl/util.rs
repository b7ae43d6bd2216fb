//! `$util.*`: API Gateway's documented functions, plus `toJson`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_PAD_INDIFFERENT};

use super::json;
use super::value::Value;

/// `Err` is a message; the caller adds the position.
pub(super) fn call(name: &str, args: &[Value]) -> Result<Value, String> {
    let one = |what: &str| -> Result<&Value, String> {
        match args {
            [a] => Ok(a),
            _ => Err(format!("$util.{what} takes 1 argument, got {}", args.len())),
        }
    };
    let text = |v: &Value| {
        v.to_java_string()
            .map_err(|_| "value nested too deeply".to_string())
    };
    match name {
        "escapeJavaScript" => {
            let a = one(name)?;
            if a.is_null() {
                return Ok(Value::Null);
            }
            Ok(Value::Str(escape_javascript(&text(a)?)))
        }
        "parseJson" => {
            let a = one(name)?;
            if a.is_null() {
                return Err("$util.parseJson: the argument is null".into());
            }
            json::parse(&text(a)?).map_err(|e| format!("$util.parseJson: invalid JSON: {e}"))
        }
        "toJson" => {
            let a = one(name)?;
            a.to_json()
                .map(Value::Str)
                .map_err(|_| "value nested too deeply".to_string())
        }
        "urlEncode" => {
            let a = one(name)?;
            if a.is_null() {
                return Ok(Value::Null);
            }
            // Java's URLEncoder: space → '+', only `A-Za-z0-9.-*_` left as is; same as form_urlencoded.
            Ok(Value::Str(
                form_urlencoded::byte_serialize(text(a)?.as_bytes()).collect(),
            ))
        }
        "urlDecode" => {
            let a = one(name)?;
            if a.is_null() {
                return Ok(Value::Null);
            }
            url_decode(&text(a)?).map(Value::Str)
        }
        "base64Encode" => {
            let a = one(name)?;
            if a.is_null() {
                return Ok(Value::Null);
            }
            Ok(Value::Str(STANDARD.encode(text(a)?.as_bytes())))
        }
        "base64Decode" => {
            let a = one(name)?;
            if a.is_null() {
                return Ok(Value::Null);
            }
            let bytes = STANDARD_PAD_INDIFFERENT
                .decode(text(a)?.trim().as_bytes())
                .map_err(|e| format!("$util.base64Decode: invalid base64: {e}"))?;
            Ok(Value::Str(String::from_utf8_lossy(&bytes).into_owned()))
        }
        _ => Err(format!(
            "unknown method $util.{name}() (API Gateway has escapeJavaScript, parseJson, urlEncode, urlDecode, base64Encode, base64Decode; toJson is also provided)"
        )),
    }
}

/// Commons Lang's `StringEscapeUtils.escapeJavaScript`, which API Gateway uses: Java-style
/// escapes, plus `\'` and `\/`, and `\uXXXX` for every non-ASCII UTF-16 unit. (`\'` is not
/// valid JSON; AWS documents that and so do we.)
pub(super) fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut units = [0u16; 2];
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                for u in c.encode_utf16(&mut units).iter() {
                    out.push_str(&format!("\\u{u:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Java's `URLDecoder.decode(s, "UTF-8")`: `+` is a space, `%XX` a byte; a bad `%` is an error.
fn url_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => out.push(byte),
                    None => return Err(format!("$util.urlDecode: bad escape at offset {i}")),
                }
                i += 3;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
