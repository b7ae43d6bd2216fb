//! Runtime values, printed the way Java prints them (Velocity calls `toString()`).
//!
//! Lists and maps are shared and mutable (`$list.add(x)` changes every alias), like Java
//! objects. They live only during one `render`, so `Rc` is fine: a `Template` holds none.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;

/// Printing and comparing a structure that contains itself must stop somewhere.
const MAX_NESTING: usize = 200;

pub(super) type List = Rc<RefCell<Vec<Value>>>;
pub(super) type Map = Rc<RefCell<Vec<(String, Value)>>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListKind {
    /// Made in the template (`[1, 2]`, `keySet()`): prints as Java does, `[1, 2]`.
    Vtl,
    /// Came from JSON (`$input.path`, `$util.parseJson`): prints as compact JSON, which is
    /// what API Gateway's JSON array type does.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MapKind {
    Plain,
    /// An element of `entrySet()`: `.key`/`.value`, `getKey()`/`getValue()`, prints `k=v`.
    Entry,
    /// `$foreach`: its entries are also reachable as `hasNext()`-style methods.
    Scope,
}

#[derive(Debug, Clone)]
pub(super) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(List, ListKind),
    Map(Map, MapKind),
    /// `$input`
    Input,
    /// `$util`
    Util,
}

pub(super) struct TooDeep;

impl Value {
    pub(super) fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub(super) fn list(items: Vec<Value>, kind: ListKind) -> Value {
        Value::List(Rc::new(RefCell::new(items)), kind)
    }

    pub(super) fn map(entries: Vec<(String, Value)>, kind: MapKind) -> Value {
        Value::Map(Rc::new(RefCell::new(entries)), kind)
    }

    pub(super) fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Velocity 1.7: only null and `false` are false; `""` and `0` are true.
    pub(super) fn truthy(&self) -> bool {
        !matches!(self, Value::Null | Value::Bool(false))
    }

    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::List(..) => "list",
            Value::Map(..) => "map",
            Value::Input => "$input",
            Value::Util => "$util",
        }
    }

    /// Java's `String.valueOf(value)`.
    pub(super) fn to_java_string(&self) -> Result<String, TooDeep> {
        let mut out = String::new();
        self.write_java(&mut out, 0)?;
        Ok(out)
    }

    fn write_java(&self, out: &mut String, depth: usize) -> Result<(), TooDeep> {
        if depth > MAX_NESTING {
            return Err(TooDeep);
        }
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(f) => out.push_str(&java_double(*f)),
            Value::Str(s) => out.push_str(s),
            Value::List(items, ListKind::Json) => {
                let _ = items;
                self.write_json(out, depth)?;
            }
            Value::List(items, ListKind::Vtl) => {
                out.push('[');
                for (k, v) in items.borrow().iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    v.write_java(out, depth + 1)?;
                }
                out.push(']');
            }
            Value::Map(entries, MapKind::Entry) => {
                for (k, v) in entries.borrow().iter() {
                    if k == "key" {
                        v.write_java(out, depth + 1)?;
                        out.push('=');
                    }
                }
                for (k, v) in entries.borrow().iter() {
                    if k == "value" {
                        v.write_java(out, depth + 1)?;
                    }
                }
            }
            Value::Map(entries, _) => {
                out.push('{');
                for (n, (k, v)) in entries.borrow().iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push('=');
                    v.write_java(out, depth + 1)?;
                }
                out.push('}');
            }
            Value::Input => out.push_str("$input"),
            Value::Util => out.push_str("$util"),
        }
        Ok(())
    }

    /// Compact JSON text.
    pub(super) fn to_json(&self) -> Result<String, TooDeep> {
        let mut out = String::new();
        self.write_json(&mut out, 0)?;
        Ok(out)
    }

    fn write_json(&self, out: &mut String, depth: usize) -> Result<(), TooDeep> {
        if depth > MAX_NESTING {
            return Err(TooDeep);
        }
        match self {
            Value::Null | Value::Input | Value::Util => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(f) if f.is_finite() => out.push_str(&java_double(*f)),
            Value::Float(_) => out.push_str("null"),
            Value::Str(s) => write_json_string(out, s),
            Value::List(items, _) => {
                out.push('[');
                for (k, v) in items.borrow().iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    v.write_json(out, depth + 1)?;
                }
                out.push(']');
            }
            Value::Map(entries, _) => {
                out.push('{');
                for (n, (k, v)) in entries.borrow().iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write_json_string(out, k);
                    out.push(':');
                    v.write_json(out, depth + 1)?;
                }
                out.push('}');
            }
        }
        Ok(())
    }

    pub(super) fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(n) => Some(*n as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Velocity's `==`: numbers by value, same types by content, and otherwise the two
    /// `toString()`s (so `1 == "1"` is true, as in Velocity 1.7).
    pub(super) fn loose_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Null, _) | (_, Value::Null) => false,
            (Value::Int(a), Value::Int(b)) => a == b,
            (a, b) if a.as_f64().is_some() && b.as_f64().is_some() => a.as_f64() == b.as_f64(),
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::List(..), Value::List(..)) | (Value::Map(..), Value::Map(..)) => {
                self.deep_eq(other, 0)
            }
            (a, b) => match (a.to_java_string(), b.to_java_string()) {
                (Ok(x), Ok(y)) => x == y,
                _ => false,
            },
        }
    }

    /// Java's `equals`: like `loose_eq` but without the `toString()` fallback.
    pub(super) fn deep_eq(&self, other: &Value, depth: usize) -> bool {
        if depth > MAX_NESTING {
            return false;
        }
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => {
                (*a as f64) == *b
            }
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::List(a, _), Value::List(b, _)) => {
                if Rc::ptr_eq(a, b) {
                    return true;
                }
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.deep_eq(y, depth + 1))
            }
            (Value::Map(a, _), Value::Map(b, _)) => {
                if Rc::ptr_eq(a, b) {
                    return true;
                }
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.iter().any(|(k2, v2)| k == k2 && v.deep_eq(v2, depth + 1)))
            }
            (Value::Input, Value::Input) | (Value::Util, Value::Util) => true,
            _ => false,
        }
    }

    /// Empties every list and map reachable from this value. Run when a render ends, it
    /// frees structures that a template made refer to themselves (`$m.put('me', $m)`).
    pub(super) fn dismantle(&self) {
        match self {
            Value::List(items, _) => {
                let taken = std::mem::take(&mut *items.borrow_mut());
                for v in &taken {
                    v.dismantle();
                }
            }
            Value::Map(entries, _) => {
                let taken = std::mem::take(&mut *entries.borrow_mut());
                for (_, v) in &taken {
                    v.dismantle();
                }
            }
            _ => {}
        }
    }
}

pub(super) fn map_get(entries: &Map, key: &str) -> Option<Value> {
    entries
        .borrow()
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

/// Java's `Map.put`: replaces in place (keeping the order), or appends. Returns the old value.
pub(super) fn map_put(entries: &Map, key: String, value: Value) -> Value {
    let mut e = entries.borrow_mut();
    if let Some(slot) = e.iter_mut().find(|(k, _)| *k == key) {
        return std::mem::replace(&mut slot.1, value);
    }
    e.push((key, value));
    Value::Null
}

pub(super) fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Java's `Double.toString`: `1.0`, `249.99`, `1.0E7`, `1.0E-4`.
pub(super) fn java_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let a = f.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{f}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        // Rust gives `1e7` / `1.5e-5`; Java wants `1.0E7` / `1.5E-5`.
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exp}")
    }
}
