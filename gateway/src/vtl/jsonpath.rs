//! The JSONPath subset that `$input.json()` / `$input.path()` accept, with Jayway's
//! result shapes (API Gateway uses Jayway JsonPath): a *definite* path (only names and
//! indexes) yields one value or nothing; any wildcard, `..`, union or slice yields a list.

use super::value::{ListKind, Value, map_get};

#[derive(Debug, Clone)]
enum Seg {
    Child(String),
    Index(i64),
    Wildcard,
    /// `..x`: applies the selector to every node at or below the current ones.
    Descendant(Box<Seg>),
    Names(Vec<String>),
    Indexes(Vec<i64>),
    Slice(Option<i64>, Option<i64>),
    /// `.length()`
    Length,
}

#[derive(Debug, Clone)]
pub(super) struct JsonPath {
    segs: Vec<Seg>,
}

impl JsonPath {
    pub(super) fn parse(path: &str) -> Result<JsonPath, String> {
        let p: Vec<char> = path.trim().chars().collect();
        let mut i = 0;
        match p.first() {
            Some('$') => i = 1,
            // Jayway reads `name.x` as `$.name.x` and `[0]` as `$[0]`.
            Some('[') => {}
            Some(_) => {}
            None => return Err("empty JSONPath".into()),
        }
        let implicit_dot = i == 0 && p.first() != Some(&'[');
        let mut segs = Vec::new();
        let mut first = true;
        while i < p.len() || (first && implicit_dot) {
            let dotted = if first && implicit_dot {
                true
            } else if p[i] == '.' {
                i += 1;
                true
            } else {
                false
            };
            first = false;
            if dotted && p.get(i) == Some(&'.') {
                // `..`
                i += 1;
                let sel = match p.get(i) {
                    Some('[') => bracket(&p, &mut i)?,
                    Some('*') => {
                        i += 1;
                        Seg::Wildcard
                    }
                    _ => Seg::Child(name(&p, &mut i)?),
                };
                segs.push(Seg::Descendant(Box::new(sel)));
            } else if dotted {
                match p.get(i) {
                    Some('*') => {
                        i += 1;
                        segs.push(Seg::Wildcard);
                    }
                    Some('[') => segs.push(bracket(&p, &mut i)?),
                    _ => {
                        let n = name(&p, &mut i)?;
                        if n == "length()" && i == p.len() {
                            segs.push(Seg::Length);
                        } else if n.ends_with(')') {
                            return Err(format!("unsupported JSONPath function '{n}'"));
                        } else {
                            segs.push(Seg::Child(n));
                        }
                    }
                }
            } else if p[i] == '[' {
                segs.push(bracket(&p, &mut i)?);
            } else {
                return Err(format!(
                    "unexpected '{}' at position {} of JSONPath",
                    p[i],
                    i + 1
                ));
            }
        }
        Ok(JsonPath { segs })
    }

    fn definite(&self) -> bool {
        self.segs
            .iter()
            .all(|s| matches!(s, Seg::Child(_) | Seg::Index(_) | Seg::Length))
    }

    /// `None` when a definite path matches nothing.
    pub(super) fn select(&self, root: &Value) -> Option<Value> {
        let mut nodes = vec![root.clone()];
        for seg in &self.segs {
            let mut next = Vec::new();
            for n in &nodes {
                apply(seg, n, &mut next);
            }
            nodes = next;
        }
        if self.definite() {
            nodes.into_iter().next()
        } else {
            Some(Value::list(nodes, ListKind::Json))
        }
    }
}

fn name(p: &[char], i: &mut usize) -> Result<String, String> {
    let start = *i;
    while *i < p.len() && p[*i] != '.' && p[*i] != '[' {
        *i += 1;
    }
    if *i == start {
        return Err(format!(
            "missing property name at position {} of JSONPath",
            start + 1
        ));
    }
    Ok(p[start..*i].iter().collect())
}

/// At `[`: `[*]`, `[0]`, `[-1]`, `[0,2]`, `[1:3]`, `['a']`, `["a","b"]`.
fn bracket(p: &[char], i: &mut usize) -> Result<Seg, String> {
    let open = *i;
    *i += 1;
    let skip = |i: &mut usize| {
        while *i < p.len() && p[*i] == ' ' {
            *i += 1;
        }
    };
    skip(i);
    let close = |i: &mut usize| -> Result<(), String> {
        skip(i);
        if p.get(*i) == Some(&']') {
            *i += 1;
            Ok(())
        } else {
            Err(format!("unclosed '[' at position {} of JSONPath", open + 1))
        }
    };
    match p.get(*i) {
        Some('*') => {
            *i += 1;
            close(i)?;
            Ok(Seg::Wildcard)
        }
        Some('?') => Err("JSONPath filter expressions ([?(...)]) are not supported".into()),
        Some('(') => Err("JSONPath script expressions are not supported".into()),
        Some(q @ ('\'' | '"')) => {
            let q = *q;
            let mut names = Vec::new();
            loop {
                if p.get(*i) != Some(&q) {
                    return Err(format!(
                        "expected a quoted name at position {} of JSONPath",
                        *i + 1
                    ));
                }
                *i += 1;
                let mut s = String::new();
                loop {
                    match p.get(*i) {
                        None => return Err("unclosed quoted name in JSONPath".into()),
                        Some('\\') if p.get(*i + 1).is_some() => {
                            s.push(p[*i + 1]);
                            *i += 2;
                        }
                        Some(c) if *c == q => {
                            *i += 1;
                            break;
                        }
                        Some(c) => {
                            s.push(*c);
                            *i += 1;
                        }
                    }
                }
                names.push(s);
                skip(i);
                if p.get(*i) == Some(&',') {
                    *i += 1;
                    skip(i);
                    continue;
                }
                close(i)?;
                return Ok(if names.len() == 1 {
                    Seg::Child(names.remove(0))
                } else {
                    Seg::Names(names)
                });
            }
        }
        _ => {
            let num = |i: &mut usize| -> Option<i64> {
                skip(i);
                let start = *i;
                if p.get(*i) == Some(&'-') {
                    *i += 1;
                }
                while p.get(*i).is_some_and(|c| c.is_ascii_digit()) {
                    *i += 1;
                }
                let s: String = p[start..*i].iter().collect();
                s.parse().ok()
            };
            let first = num(i);
            skip(i);
            if p.get(*i) == Some(&':') {
                *i += 1;
                let end = num(i);
                close(i)?;
                return Ok(Seg::Slice(first, end));
            }
            let Some(first) = first else {
                return Err(format!("bad index at position {} of JSONPath", open + 2));
            };
            let mut idx = vec![first];
            while p.get(*i) == Some(&',') {
                *i += 1;
                match num(i) {
                    Some(n) => idx.push(n),
                    None => return Err(format!("bad index at position {} of JSONPath", *i + 1)),
                }
                skip(i);
            }
            close(i)?;
            Ok(if idx.len() == 1 {
                Seg::Index(idx[0])
            } else {
                Seg::Indexes(idx)
            })
        }
    }
}

fn index(items: &[Value], n: i64) -> Option<Value> {
    let len = items.len() as i64;
    let k = if n < 0 { len + n } else { n };
    if (0..len).contains(&k) {
        items.get(k as usize).cloned()
    } else {
        None
    }
}

fn apply(seg: &Seg, node: &Value, out: &mut Vec<Value>) {
    match (seg, node) {
        (Seg::Child(k), Value::Map(m, _)) => out.extend(map_get(m, k)),
        (Seg::Names(ks), Value::Map(m, _)) => out.extend(ks.iter().filter_map(|k| map_get(m, k))),
        (Seg::Index(n), Value::List(l, _)) => out.extend(index(&l.borrow(), *n)),
        (Seg::Indexes(ns), Value::List(l, _)) => {
            let l = l.borrow();
            out.extend(ns.iter().filter_map(|n| index(&l, *n)));
        }
        (Seg::Slice(a, b), Value::List(l, _)) => {
            let l = l.borrow();
            let len = l.len() as i64;
            let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
            let from = norm(a.unwrap_or(0));
            let to = norm(b.unwrap_or(len));
            if from < to {
                out.extend(l[from as usize..to as usize].iter().cloned());
            }
        }
        (Seg::Wildcard, Value::Map(m, _)) => out.extend(m.borrow().iter().map(|(_, v)| v.clone())),
        (Seg::Wildcard, Value::List(l, _)) => out.extend(l.borrow().iter().cloned()),
        (Seg::Length, Value::List(l, _)) => out.push(Value::Int(l.borrow().len() as i64)),
        (Seg::Length, Value::Map(m, _)) => out.push(Value::Int(m.borrow().len() as i64)),
        (Seg::Length, Value::Str(s)) => out.push(Value::Int(s.chars().count() as i64)),
        (Seg::Descendant(sel), _) => {
            let mut all = Vec::new();
            walk(node, &mut all, 0);
            for n in &all {
                apply(sel, n, out);
            }
        }
        _ => {}
    }
}

fn walk(node: &Value, out: &mut Vec<Value>, depth: usize) {
    if depth > 200 {
        return;
    }
    out.push(node.clone());
    match node {
        Value::Map(m, _) => {
            for (_, v) in m.borrow().iter() {
                walk(v, out, depth + 1);
            }
        }
        Value::List(l, _) => {
            for v in l.borrow().iter() {
                walk(v, out, depth + 1);
            }
        }
        _ => {}
    }
}
