//! The Java methods templates call on strings, lists, maps and numbers.
//!
//! `Ok(None)` means "no such method": Velocity then yields null (and the reference
//! renders as its source text). `Err` is a failed call, such as an index out of range,
//! which Velocity turns into an error.

use std::collections::HashMap;

use regex::Regex;

use super::value::{ListKind, MapKind, Value, map_get, map_put};

pub(super) type Regexes = HashMap<String, Regex>;

type R = Result<Option<Value>, String>;

fn text(v: &Value) -> Result<String, String> {
    v.to_java_string()
        .map_err(|_| "value nested too deeply".to_string())
}

fn arg<'v>(args: &'v [Value], k: usize, method: &str) -> Result<&'v Value, String> {
    args.get(k)
        .ok_or_else(|| format!("{method}() is missing argument {}", k + 1))
}

fn str_arg(args: &[Value], k: usize, method: &str) -> Result<String, String> {
    let v = arg(args, k, method)?;
    if v.is_null() {
        return Err(format!("{method}(): argument {} is null", k + 1));
    }
    text(v)
}

fn int_arg(args: &[Value], k: usize, method: &str) -> Result<i64, String> {
    match arg(args, k, method)? {
        Value::Int(n) => Ok(*n),
        Value::Float(f) => Ok(*f as i64),
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{method}(): '{s}' is not a number")),
        other => Err(format!(
            "{method}(): expected a number, got {}",
            other.type_name()
        )),
    }
}

fn regex<'c>(cache: &'c mut Regexes, pattern: &str) -> Result<&'c Regex, String> {
    if !cache.contains_key(pattern) {
        let re = Regex::new(pattern)
            .map_err(|e| format!("unsupported or invalid regular expression '{pattern}': {e}"))?;
        cache.insert(pattern.to_string(), re);
    }
    cache.get(pattern).ok_or_else(|| "regex cache".to_string())
}

/// Java's replacement syntax (`$1`, `\$`) → the regex crate's (`${1}`, `$$`).
fn java_replacement(rep: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut it = rep.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => return Err("replacement ends with a lone backslash".into()),
            },
            '$' => match it.peek() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = it.peek().filter(|d| d.is_ascii_digit()) {
                        n.push(*d);
                        it.next();
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('{') => {
                    out.push('$');
                    for x in it.by_ref() {
                        out.push(x);
                        if x == '}' {
                            break;
                        }
                    }
                }
                _ => return Err("illegal group reference in replacement".into()),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Char-indexed helpers: Java indexes UTF-16 units; we index characters (the same for
/// anything outside the astral planes).
fn char_find(hay: &str, needle: &str, from: usize) -> i64 {
    let start = hay
        .char_indices()
        .nth(from)
        .map(|(b, _)| b)
        .unwrap_or(hay.len());
    if from > hay.chars().count() {
        return -1;
    }
    match hay[start..].find(needle) {
        Some(b) => hay[..start + b].chars().count() as i64,
        None => -1,
    }
}

fn substring(s: &str, from: i64, to: Option<i64>) -> Result<String, String> {
    let len = s.chars().count() as i64;
    let to = to.unwrap_or(len);
    if from < 0 || to > len || from > to {
        return Err(format!(
            "String index out of range: begin {from}, end {to}, length {len}"
        ));
    }
    Ok(s.chars()
        .skip(from as usize)
        .take((to - from) as usize)
        .collect())
}

pub(super) fn call(target: &Value, name: &str, args: &[Value], regexes: &mut Regexes) -> R {
    // Every Java object has these.
    match (name, args.len()) {
        ("toString", 0) => {
            return Ok(Some(Value::Str(text(target)?)));
        }
        ("equals", 1) => return Ok(Some(Value::Bool(target.deep_eq(&args[0], 0)))),
        _ => {}
    }
    match target {
        Value::Str(s) => string_method(s, name, args, regexes),
        Value::List(l, _) => {
            let n = args.len();
            Ok(Some(match (name, n) {
                ("size", 0) => Value::Int(l.borrow().len() as i64),
                ("isEmpty", 0) => Value::Bool(l.borrow().is_empty()),
                ("get", 1) => {
                    let k = int_arg(args, 0, name)?;
                    let items = l.borrow();
                    match usize::try_from(k).ok().and_then(|k| items.get(k)) {
                        Some(v) => v.clone(),
                        None => {
                            return Err(format!(
                                "Index {k} out of bounds for length {}",
                                items.len()
                            ));
                        }
                    }
                }
                ("contains", 1) => Value::Bool(l.borrow().iter().any(|v| v.deep_eq(&args[0], 0))),
                ("indexOf", 1) => Value::Int(
                    l.borrow()
                        .iter()
                        .position(|v| v.deep_eq(&args[0], 0))
                        .map_or(-1, |p| p as i64),
                ),
                ("add", 1) => {
                    l.borrow_mut().push(args[0].clone());
                    Value::Bool(true)
                }
                ("add", 2) => {
                    let k = int_arg(args, 0, name)?;
                    let mut items = l.borrow_mut();
                    match usize::try_from(k).ok().filter(|k| *k <= items.len()) {
                        Some(k) => items.insert(k, args[1].clone()),
                        None => {
                            return Err(format!(
                                "Index {k} out of bounds for length {}",
                                items.len()
                            ));
                        }
                    }
                    // Java's add(int, E) returns void: Velocity prints nothing useful.
                    Value::Null
                }
                ("addAll", 1) => {
                    let extra: Vec<Value> = match &args[0] {
                        Value::List(o, _) => o.borrow().clone(),
                        _ => return Err("addAll() needs a list".into()),
                    };
                    l.borrow_mut().extend(extra);
                    Value::Bool(true)
                }
                ("set", 2) => {
                    let k = int_arg(args, 0, name)?;
                    let mut items = l.borrow_mut();
                    let len = items.len();
                    match usize::try_from(k).ok().and_then(|k| items.get_mut(k)) {
                        Some(slot) => std::mem::replace(slot, args[1].clone()),
                        None => return Err(format!("Index {k} out of bounds for length {len}")),
                    }
                }
                ("remove", 1) => match &args[0] {
                    Value::Int(k) => {
                        let mut items = l.borrow_mut();
                        match usize::try_from(*k).ok().filter(|k| *k < items.len()) {
                            Some(k) => items.remove(k),
                            None => {
                                return Err(format!(
                                    "Index {k} out of bounds for length {}",
                                    items.len()
                                ));
                            }
                        }
                    }
                    other => {
                        let mut items = l.borrow_mut();
                        match items.iter().position(|v| v.deep_eq(other, 0)) {
                            Some(p) => {
                                items.remove(p);
                                Value::Bool(true)
                            }
                            None => Value::Bool(false),
                        }
                    }
                },
                ("clear", 0) => {
                    l.borrow_mut().clear();
                    Value::Null
                }
                _ => return Ok(None),
            }))
        }
        Value::Map(m, kind) => {
            let n = args.len();
            let key = |k: usize| -> Result<String, String> { text(arg(args, k, name)?) };
            Ok(Some(match (name, n) {
                ("get", 1) => map_get(m, &key(0)?).unwrap_or(Value::Null),
                ("put", 2) => map_put(m, key(0)?, args[1].clone()),
                ("containsKey", 1) => {
                    let k = key(0)?;
                    Value::Bool(m.borrow().iter().any(|(x, _)| *x == k))
                }
                ("containsValue", 1) => {
                    Value::Bool(m.borrow().iter().any(|(_, v)| v.deep_eq(&args[0], 0)))
                }
                ("keySet", 0) => Value::list(
                    m.borrow()
                        .iter()
                        .map(|(k, _)| Value::str(k.clone()))
                        .collect(),
                    ListKind::Vtl,
                ),
                ("values", 0) => Value::list(
                    m.borrow().iter().map(|(_, v)| v.clone()).collect(),
                    ListKind::Vtl,
                ),
                ("entrySet", 0) => Value::list(
                    m.borrow()
                        .iter()
                        .map(|(k, v)| {
                            Value::map(
                                vec![
                                    ("key".into(), Value::str(k.clone())),
                                    ("value".into(), v.clone()),
                                ],
                                MapKind::Entry,
                            )
                        })
                        .collect(),
                    ListKind::Vtl,
                ),
                ("size", 0) => Value::Int(m.borrow().len() as i64),
                ("isEmpty", 0) => Value::Bool(m.borrow().is_empty()),
                ("remove", 1) => {
                    let k = key(0)?;
                    let mut e = m.borrow_mut();
                    match e.iter().position(|(x, _)| *x == k) {
                        Some(p) => e.remove(p).1,
                        None => Value::Null,
                    }
                }
                ("putAll", 1) => {
                    let extra: Vec<(String, Value)> = match &args[0] {
                        Value::Map(o, _) => o.borrow().clone(),
                        _ => return Err("putAll() needs a map".into()),
                    };
                    for (k, v) in extra {
                        map_put(m, k, v);
                    }
                    Value::Null
                }
                (getter, 0) if *kind != MapKind::Plain => {
                    // `$foreach.hasNext()`, `$entry.getKey()`: bean-style access to the fields.
                    let field = getter
                        .strip_prefix("get")
                        .or_else(|| getter.strip_prefix("is"))
                        .filter(|f| f.starts_with(|c: char| c.is_ascii_uppercase()))
                        .map(|f| {
                            let mut cs = f.chars();
                            cs.next()
                                .map(|c| c.to_ascii_lowercase().to_string() + cs.as_str())
                                .unwrap_or_default()
                        });
                    match map_get(m, getter).or_else(|| field.and_then(|f| map_get(m, &f))) {
                        Some(v) => v,
                        None => return Ok(None),
                    }
                }
                _ => return Ok(None),
            }))
        }
        Value::Int(_) | Value::Float(_) => {
            let f = target.as_f64().unwrap_or(0.0);
            Ok(match (name, args.len()) {
                ("intValue" | "longValue", 0) => Some(Value::Int(match target {
                    Value::Int(n) => *n,
                    _ => f as i64,
                })),
                ("doubleValue" | "floatValue", 0) => Some(Value::Float(f)),
                _ => None,
            })
        }
        Value::Bool(b) => Ok(match (name, args.len()) {
            ("booleanValue", 0) => Some(Value::Bool(*b)),
            _ => None,
        }),
        _ => Ok(None),
    }
}

fn string_method(s: &str, name: &str, args: &[Value], regexes: &mut Regexes) -> R {
    let v = match (name, args.len()) {
        ("length", 0) => Value::Int(s.chars().count() as i64),
        ("isEmpty", 0) => Value::Bool(s.is_empty()),
        ("substring", 1) => Value::Str(substring(s, int_arg(args, 0, name)?, None)?),
        ("substring", 2) => Value::Str(substring(
            s,
            int_arg(args, 0, name)?,
            Some(int_arg(args, 1, name)?),
        )?),
        ("charAt", 1) => {
            let k = int_arg(args, 0, name)?;
            Value::Str(substring(s, k, Some(k + 1))?)
        }
        ("indexOf", 1) => Value::Int(char_find(s, &str_arg(args, 0, name)?, 0)),
        ("indexOf", 2) => {
            let from = int_arg(args, 1, name)?.max(0) as usize;
            Value::Int(char_find(s, &str_arg(args, 0, name)?, from))
        }
        ("lastIndexOf", 1) => {
            let needle = str_arg(args, 0, name)?;
            Value::Int(
                s.rfind(&needle)
                    .map_or(-1, |b| s[..b].chars().count() as i64),
            )
        }
        ("contains", 1) => Value::Bool(s.contains(&str_arg(args, 0, name)?)),
        ("startsWith", 1) => Value::Bool(s.starts_with(&str_arg(args, 0, name)?)),
        ("endsWith", 1) => Value::Bool(s.ends_with(&str_arg(args, 0, name)?)),
        ("equalsIgnoreCase", 1) => Value::Bool(match &args[0] {
            Value::Str(o) => o.to_lowercase() == s.to_lowercase(),
            _ => false,
        }),
        ("toLowerCase", 0) => Value::Str(s.to_lowercase()),
        ("toUpperCase", 0) => Value::Str(s.to_uppercase()),
        // Java's trim() strips every char up to U+0020.
        ("trim", 0) => Value::Str(s.trim_matches(|c: char| c <= ' ').to_string()),
        ("concat", 1) => Value::Str(format!("{s}{}", str_arg(args, 0, name)?)),
        ("replace", 2) => Value::Str(s.replace(&str_arg(args, 0, name)?, &str_arg(args, 1, name)?)),
        ("replaceAll", 2) | ("replaceFirst", 2) => {
            let rep = java_replacement(&str_arg(args, 1, name)?)?;
            let re = regex(regexes, &str_arg(args, 0, name)?)?;
            let out = if name == "replaceAll" {
                re.replace_all(s, rep.as_str())
            } else {
                re.replace(s, rep.as_str())
            };
            Value::Str(out.into_owned())
        }
        ("matches", 1) => {
            let pattern = format!("^(?:{})$", str_arg(args, 0, name)?);
            Value::Bool(regex(regexes, &pattern)?.is_match(s))
        }
        ("split", 1) | ("split", 2) => {
            let limit = if args.len() == 2 {
                int_arg(args, 1, name)?
            } else {
                0
            };
            let re = regex(regexes, &str_arg(args, 0, name)?)?;
            Value::list(
                java_split(re, s, limit)
                    .into_iter()
                    .map(Value::Str)
                    .collect(),
                ListKind::Vtl,
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

/// Java's `String.split(regex, limit)`.
fn java_split(re: &Regex, s: &str, limit: i64) -> Vec<String> {
    if s.is_empty() {
        return vec![String::new()];
    }
    let mut parts = Vec::new();
    let mut last = 0;
    for m in re.find_iter(s) {
        if limit > 0 && parts.len() as i64 == limit - 1 {
            break;
        }
        // A zero-width match at the very start gives no leading empty piece (Java 8+).
        if m.end() == 0 {
            continue;
        }
        if m.start() == m.end() && m.start() >= s.len() {
            break;
        }
        parts.push(s[last..m.start()].to_string());
        last = m.end();
    }
    let matched = !parts.is_empty();
    parts.push(s[last..].to_string());
    if limit == 0 && matched {
        while parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
    }
    parts
}
