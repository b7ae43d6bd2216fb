//! AST + one request's input → output text.

use std::collections::{BTreeMap, HashMap};

use super::ast::{BinOp, Expr, Node, Part, Pos, Reference};
use super::jsonpath::JsonPath;
use super::methods::{self, Regexes};
use super::value::{ListKind, MapKind, Value, map_get, map_put};
use super::{Input, VtlError, json, util};

/// Limits that keep a runaway template (`#foreach($i in [1..2000000000])`) from eating the host.
const MAX_ITERATIONS: u64 = 1_000_000;
const MAX_OUTPUT: usize = 32 * 1024 * 1024;
const MAX_RANGE: i64 = 1_000_000;

enum Flow {
    Normal,
    Break,
    Stop,
}

fn err(pos: Pos, message: impl Into<String>) -> VtlError {
    VtlError {
        line: pos.line,
        column: pos.column,
        message: message.into(),
    }
}

pub(super) fn render(nodes: &[Node], input: &Input<'_>) -> Result<String, VtlError> {
    let mut vars = HashMap::new();
    vars.insert("input".to_string(), Value::Input);
    vars.insert("util".to_string(), Value::Util);
    vars.insert("context".to_string(), json::from_serde(input.context));
    vars.insert(
        "stageVariables".to_string(),
        string_map(input.stage_variables),
    );
    let mut r = Renderer {
        input,
        vars,
        body: None,
        regexes: HashMap::new(),
        iterations: 0,
    };
    let mut out = String::new();
    let result = r.nodes(nodes, &mut out);
    // Break any reference cycles the template built before the values are dropped.
    for v in r.vars.values() {
        v.dismantle();
    }
    if let Some(Ok(b)) = &r.body {
        b.dismantle();
    }
    result.map(|_| out)
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::map(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::str(v.clone())))
            .collect(),
        MapKind::Plain,
    )
}

struct Renderer<'r, 'a> {
    input: &'r Input<'a>,
    vars: HashMap<String, Value>,
    /// The body parsed as JSON, on first use.
    body: Option<Result<Value, String>>,
    regexes: Regexes,
    iterations: u64,
}

impl Renderer<'_, '_> {
    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> Result<Flow, VtlError> {
        for node in nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Ref(r) => {
                    let v = self.reference(r)?;
                    self.write_value(&v, r, out)?;
                }
                Node::Set { target, value } => {
                    let v = self.expr(value)?;
                    self.assign(target, v)?;
                }
                Node::If {
                    branches,
                    otherwise,
                } => {
                    let mut chosen = otherwise.as_ref();
                    for (cond, body) in branches {
                        if self.expr(cond)?.truthy() {
                            chosen = Some(body);
                            break;
                        }
                    }
                    if let Some(body) = chosen {
                        match self.nodes(body, out)? {
                            Flow::Normal => {}
                            flow => return Ok(flow),
                        }
                    }
                }
                Node::Foreach {
                    var,
                    iterable,
                    body,
                    pos,
                } => {
                    if let Flow::Stop = self.foreach(var, iterable, body, *pos, out)? {
                        return Ok(Flow::Stop);
                    }
                }
                Node::Break => return Ok(Flow::Break),
                Node::Stop => return Ok(Flow::Stop),
            }
            if out.len() > MAX_OUTPUT {
                return Err(VtlError {
                    line: 0,
                    column: 0,
                    message: format!("output exceeds {MAX_OUTPUT} bytes"),
                });
            }
        }
        Ok(Flow::Normal)
    }

    fn write_value(&self, v: &Value, r: &Reference, out: &mut String) -> Result<(), VtlError> {
        if v.is_null() {
            // Plain Velocity prints an unresolved reference as written; API Gateway
            // prints nothing, as for `$!ref` (recorded against AWS in
            // toqoz/api-gateway-mapping-template#5).
            return Ok(());
        }
        let s = v.to_java_string().map_err(|_| {
            err(
                r.pos,
                "value nested too deeply to print (does it contain itself?)",
            )
        })?;
        out.push_str(&s);
        Ok(())
    }

    fn foreach(
        &mut self,
        var: &str,
        iterable: &Expr,
        body: &[Node],
        pos: Pos,
        out: &mut String,
    ) -> Result<Flow, VtlError> {
        // Iterate over a snapshot: adding to the list inside the loop does not extend it.
        let items: Vec<Value> = match self.expr(iterable)? {
            Value::List(l, _) => l.borrow().clone(),
            // Velocity iterates a map's values.
            Value::Map(m, _) => m.borrow().iter().map(|(_, v)| v.clone()).collect(),
            // Null or not iterable: Velocity skips the loop.
            _ => Vec::new(),
        };
        let saved: Vec<(&str, Option<Value>)> =
            ["foreach", "velocityCount", "velocityHasNext", var]
                .into_iter()
                .map(|k| (k, self.vars.get(k).cloned()))
                .collect();
        let parent = self.vars.get("foreach").cloned().unwrap_or(Value::Null);
        let n = items.len();
        let mut flow = Flow::Normal;
        for (k, item) in items.into_iter().enumerate() {
            self.iterations += 1;
            if self.iterations > MAX_ITERATIONS {
                return Err(err(
                    pos,
                    format!("more than {MAX_ITERATIONS} #foreach iterations"),
                ));
            }
            let has_next = k + 1 < n;
            let scope = Value::map(
                vec![
                    ("index".into(), Value::Int(k as i64)),
                    ("count".into(), Value::Int(k as i64 + 1)),
                    ("hasNext".into(), Value::Bool(has_next)),
                    ("first".into(), Value::Bool(k == 0)),
                    ("last".into(), Value::Bool(!has_next)),
                    ("parent".into(), parent.clone()),
                ],
                MapKind::Scope,
            );
            self.vars.insert("foreach".into(), scope);
            self.vars
                .insert("velocityCount".into(), Value::Int(k as i64 + 1));
            self.vars
                .insert("velocityHasNext".into(), Value::Bool(has_next));
            self.vars.insert(var.to_string(), item);
            match self.nodes(body, out)? {
                Flow::Normal => {}
                Flow::Break => break,
                Flow::Stop => {
                    flow = Flow::Stop;
                    break;
                }
            }
        }
        for (k, v) in saved {
            match v {
                Some(v) => self.vars.insert(k.to_string(), v),
                None => self.vars.remove(k),
            };
        }
        Ok(flow)
    }

    fn assign(&mut self, target: &Reference, v: Value) -> Result<(), VtlError> {
        // Velocity 1.7 leaves the variable unchanged when the new value is null.
        if v.is_null() {
            return Ok(());
        }
        let Some((last, path)) = target.parts.split_last() else {
            self.vars.insert(target.name.clone(), v);
            return Ok(());
        };
        let mut cur = self.vars.get(&target.name).cloned().unwrap_or(Value::Null);
        for part in path {
            cur = self.part(&cur, part)?;
        }
        match (last, &cur) {
            (Part::Property(name), Value::Map(m, _)) => {
                map_put(m, name.clone(), v);
            }
            (Part::Index(e, pos), container) => {
                let key = self.expr(e)?;
                match (container, &key) {
                    (Value::Map(m, _), _) => {
                        let k = key
                            .to_java_string()
                            .map_err(|_| err(*pos, "key nested too deeply"))?;
                        map_put(m, k, v);
                    }
                    (Value::List(l, _), Value::Int(k)) => {
                        let mut items = l.borrow_mut();
                        let len = items.len();
                        match usize::try_from(*k).ok().and_then(|k| items.get_mut(k)) {
                            Some(slot) => *slot = v,
                            None => {
                                return Err(err(
                                    *pos,
                                    format!("Index {k} out of bounds for length {len}"),
                                ));
                            }
                        }
                    }
                    _ => {}
                }
            }
            // Setting a property of null or of a non-map: Velocity logs it and moves on.
            _ => {}
        }
        Ok(())
    }

    fn reference(&mut self, r: &Reference) -> Result<Value, VtlError> {
        let mut cur = self.vars.get(&r.name).cloned().unwrap_or(Value::Null);
        for part in &r.parts {
            if cur.is_null() {
                return Ok(Value::Null);
            }
            cur = self.part(&cur, part)?;
        }
        Ok(cur)
    }

    fn part(&mut self, cur: &Value, part: &Part) -> Result<Value, VtlError> {
        Ok(match part {
            Part::Property(name) => self.property(cur, name),
            Part::Index(e, pos) => {
                let key = self.expr(e)?;
                match (cur, &key) {
                    (Value::List(l, _), Value::Int(k)) => usize::try_from(*k)
                        .ok()
                        .and_then(|k| l.borrow().get(k).cloned())
                        .unwrap_or(Value::Null),
                    (Value::Map(m, _), k) if !k.is_null() => {
                        let k = k
                            .to_java_string()
                            .map_err(|_| err(*pos, "key nested too deeply"))?;
                        map_get(m, &k).unwrap_or(Value::Null)
                    }
                    _ => Value::Null,
                }
            }
            Part::Method(name, args, pos) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.expr(a)?);
                }
                match cur {
                    Value::Input => self.input_method(name, &vals, *pos)?,
                    Value::Util => util::call(name, &vals).map_err(|m| err(*pos, m))?,
                    other => methods::call(other, name, &vals, &mut self.regexes)
                        .map_err(|m| err(*pos, format!("{name}(): {m}")))?
                        .unwrap_or(Value::Null),
                }
            }
        })
    }

    /// `$a.b`: a map's key; `$input.body`; Java-bean `isEmpty()` as `.empty`.
    fn property(&self, cur: &Value, name: &str) -> Value {
        match (cur, name) {
            (Value::Map(m, _), _) => map_get(m, name).unwrap_or(Value::Null),
            (Value::Input, "body") => Value::str(self.body_text()),
            (Value::Str(s), "empty") => Value::Bool(s.is_empty()),
            (Value::List(l, _), "empty") => Value::Bool(l.borrow().is_empty()),
            _ => Value::Null,
        }
    }

    /// API Gateway hands templates `{}` for an empty payload.
    fn body_text(&self) -> &str {
        if self.input.body.is_empty() {
            "{}"
        } else {
            self.input.body
        }
    }

    fn body_json(&mut self, pos: Pos) -> Result<Value, VtlError> {
        if self.body.is_none() {
            let text = self.body_text();
            let parsed = if text.trim().is_empty() {
                json::parse("{}")
            } else {
                json::parse(text)
            };
            self.body = Some(parsed);
        }
        match &self.body {
            Some(Ok(v)) => Ok(v.clone()),
            Some(Err(e)) => Err(err(
                pos,
                format!("Could not parse request body into json: {e}"),
            )),
            None => Err(err(pos, "body not parsed")),
        }
    }

    fn input_method(&mut self, name: &str, args: &[Value], pos: Pos) -> Result<Value, VtlError> {
        let path_arg = |args: &[Value]| -> Result<JsonPath, VtlError> {
            let p = match args {
                [Value::Str(s)] => s.clone(),
                [Value::Null] => {
                    return Err(err(pos, format!("$input.{name}(): the JSONPath is null")));
                }
                [other] => other
                    .to_java_string()
                    .map_err(|_| err(pos, "bad JSONPath"))?,
                _ => {
                    return Err(err(
                        pos,
                        format!("$input.{name}() takes 1 argument, got {}", args.len()),
                    ));
                }
            };
            JsonPath::parse(&p)
                .map_err(|m| err(pos, format!("$input.{name}('{p}'): invalid JSONPath: {m}")))
        };
        match name {
            "json" => {
                let path = path_arg(args)?;
                let body = self.body_json(pos)?;
                match path.select(&body) {
                    Some(v) => v
                        .to_json()
                        .map(Value::Str)
                        .map_err(|_| err(pos, "value nested too deeply")),
                    // A definite path that matches nothing renders as an empty JSON string.
                    None => Ok(Value::str("\"\"")),
                }
            }
            "path" => {
                let path = path_arg(args)?;
                let body = self.body_json(pos)?;
                Ok(path.select(&body).unwrap_or(Value::Null))
            }
            "params" => match args {
                [] => Ok(Value::map(
                    vec![
                        ("path".into(), string_map(self.input.path)),
                        ("querystring".into(), string_map(self.input.querystring)),
                        ("header".into(), string_map(self.input.headers)),
                    ],
                    MapKind::Plain,
                )),
                [key] => {
                    let key = key
                        .to_java_string()
                        .map_err(|_| err(pos, "bad parameter name"))?;
                    let found = self
                        .input
                        .path
                        .get(&key)
                        .or_else(|| self.input.querystring.get(&key))
                        .or_else(|| self.input.headers.get(&key))
                        // Header names are case-insensitive.
                        .or_else(|| {
                            self.input
                                .headers
                                .iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case(&key))
                                .map(|(_, v)| v)
                        });
                    // A missing parameter is an empty string in API Gateway, not null.
                    Ok(Value::str(found.cloned().unwrap_or_default()))
                }
                _ => Err(err(
                    pos,
                    format!("$input.params() takes 0 or 1 argument, got {}", args.len()),
                )),
            },
            _ => Err(err(
                pos,
                format!("unknown method $input.{name}() (there are body, json, path, params)"),
            )),
        }
    }

    fn expr(&mut self, e: &Expr) -> Result<Value, VtlError> {
        Ok(match e {
            Expr::Null => Value::Null,
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Int(n) => Value::Int(*n),
            Expr::Float(f) => Value::Float(*f),
            Expr::Str(s) => Value::str(s.clone()),
            Expr::Interpolated(nodes) => {
                let mut s = String::new();
                for n in nodes {
                    match n {
                        Node::Text(t) => s.push_str(t),
                        Node::Ref(r) => {
                            let v = self.reference(r)?;
                            self.write_value(&v, r, &mut s)?;
                        }
                        _ => {}
                    }
                }
                Value::Str(s)
            }
            Expr::Ref(r) => self.reference(r)?,
            Expr::List(items) => {
                let mut vals = Vec::with_capacity(items.len());
                for i in items {
                    vals.push(self.expr(i)?);
                }
                Value::list(vals, ListKind::Vtl)
            }
            Expr::Map(entries) => {
                let m: super::value::Map = Default::default();
                for (k, v) in entries {
                    let key = self.expr(k)?.to_java_string().unwrap_or_default();
                    let val = self.expr(v)?;
                    map_put(&m, key, val);
                }
                Value::Map(m, MapKind::Plain)
            }
            Expr::Range(a, b, pos) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                let as_int = |v: &Value| match v {
                    Value::Int(n) => Some(*n),
                    Value::Str(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                };
                match (as_int(&a), as_int(&b)) {
                    (Some(a), Some(b)) => {
                        if a.abs_diff(b) >= MAX_RANGE as u64 {
                            return Err(err(
                                *pos,
                                format!("range [{a}..{b}] has more than {MAX_RANGE} elements"),
                            ));
                        }
                        let items: Vec<Value> = if a <= b {
                            (a..=b).map(Value::Int).collect()
                        } else {
                            (b..=a).rev().map(Value::Int).collect()
                        };
                        Value::list(items, ListKind::Vtl)
                    }
                    _ => Value::Null,
                }
            }
            Expr::Not(e) => Value::Bool(!self.expr(e)?.truthy()),
            Expr::Neg(e) => match self.expr(e)? {
                Value::Int(n) => n
                    .checked_neg()
                    .map(Value::Int)
                    .unwrap_or(Value::Float(-(n as f64))),
                Value::Float(f) => Value::Float(-f),
                _ => Value::Null,
            },
            Expr::Binary(op, a, b) => match op {
                BinOp::And => Value::Bool(self.expr(a)?.truthy() && self.expr(b)?.truthy()),
                BinOp::Or => Value::Bool(self.expr(a)?.truthy() || self.expr(b)?.truthy()),
                _ => {
                    let (x, y) = (self.expr(a)?, self.expr(b)?);
                    binary(*op, &x, &y)
                }
            },
        })
    }
}

fn binary(op: BinOp, x: &Value, y: &Value) -> Value {
    use std::cmp::Ordering;
    match op {
        BinOp::Eq => Value::Bool(x.loose_eq(y)),
        BinOp::Ne => Value::Bool(!x.loose_eq(y)),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = match (x, y) {
                (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
                (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
                _ => match (x.as_f64(), y.as_f64()) {
                    (Some(a), Some(b)) => a.partial_cmp(&b),
                    _ => None,
                },
            };
            // Velocity logs an error and yields false when the two are not comparable.
            Value::Bool(match ord {
                None => false,
                Some(o) => match op {
                    BinOp::Lt => o == Ordering::Less,
                    BinOp::Le => o != Ordering::Greater,
                    BinOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                },
            })
        }
        BinOp::Add if matches!(x, Value::Str(_)) || matches!(y, Value::Str(_)) => {
            if x.is_null() || y.is_null() {
                return Value::Null;
            }
            match (x.to_java_string(), y.to_java_string()) {
                (Ok(a), Ok(b)) => Value::Str(a + &b),
                _ => Value::Null,
            }
        }
        _ => arithmetic(op, x, y),
    }
}

/// Java integer arithmetic where both sides are integers (widening instead of overflowing),
/// floating point otherwise; null for anything else or for a division by zero.
fn arithmetic(op: BinOp, x: &Value, y: &Value) -> Value {
    if let (Value::Int(a), Value::Int(b)) = (x, y) {
        let (a, b) = (*a, *b);
        let exact = match op {
            BinOp::Add => a.checked_add(b),
            BinOp::Sub => a.checked_sub(b),
            BinOp::Mul => a.checked_mul(b),
            BinOp::Div if b == 0 => return Value::Null,
            BinOp::Div => a.checked_div(b),
            BinOp::Mod if b == 0 => return Value::Null,
            BinOp::Mod => a.checked_rem(b),
            _ => return Value::Null,
        };
        if let Some(n) = exact {
            return Value::Int(n);
        }
    }
    let (Some(a), Some(b)) = (x.as_f64(), y.as_f64()) else {
        return Value::Null;
    };
    match op {
        BinOp::Add => Value::Float(a + b),
        BinOp::Sub => Value::Float(a - b),
        BinOp::Mul => Value::Float(a * b),
        BinOp::Div | BinOp::Mod if b == 0.0 => Value::Null,
        BinOp::Div => Value::Float(a / b),
        BinOp::Mod => Value::Float(a % b),
        _ => Value::Null,
    }
}
