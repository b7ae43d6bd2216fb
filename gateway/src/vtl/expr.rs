//! Expressions inside `#set(…)`, `#if(…)`, `#foreach(…)`, method arguments and `[…]` indexes.
//!
//! Precedence, lowest first: `||`/`or`, `&&`/`and`, `==`/`!=`/`eq`/`ne`,
//! `<`/`<=`/`>`/`>=`/`lt`/`le`/`gt`/`ge`, `+`/`-`, `*`/`/`/`%`, unary `!`/`not`/`-`.

use super::VtlError;
use super::ast::{BinOp, Expr};
use super::lexer::{Lexer, MAX_DEPTH, is_ident_char};

impl Lexer {
    pub(super) fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.i += 1;
        }
    }

    pub(super) fn expr(&mut self) -> Result<Expr, VtlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_at(self.i, "expression nested too deeply"));
        }
        let e = self.binary(0);
        self.depth -= 1;
        e
    }

    /// Matches the operator at the cursor for precedence `level`, consuming it.
    fn operator(&mut self, level: usize) -> Option<BinOp> {
        self.skip_ws();
        let here = |s: &Lexer, text: &str| {
            text.chars()
                .enumerate()
                .all(|(k, c)| s.peek_at(s.i + k) == Some(c))
        };
        let word = |s: &Lexer, text: &str| {
            here(s, text) && !s.peek_at(s.i + text.len()).is_some_and(is_ident_char)
        };
        let table: &[(&str, BinOp, bool)] = match level {
            0 => &[("||", BinOp::Or, false), ("or", BinOp::Or, true)],
            1 => &[("&&", BinOp::And, false), ("and", BinOp::And, true)],
            2 => &[
                ("==", BinOp::Eq, false),
                ("!=", BinOp::Ne, false),
                ("eq", BinOp::Eq, true),
                ("ne", BinOp::Ne, true),
            ],
            3 => &[
                ("<=", BinOp::Le, false),
                (">=", BinOp::Ge, false),
                ("<", BinOp::Lt, false),
                (">", BinOp::Gt, false),
                ("le", BinOp::Le, true),
                ("ge", BinOp::Ge, true),
                ("lt", BinOp::Lt, true),
                ("gt", BinOp::Gt, true),
            ],
            4 => &[("+", BinOp::Add, false), ("-", BinOp::Sub, false)],
            _ => &[
                ("*", BinOp::Mul, false),
                ("/", BinOp::Div, false),
                ("%", BinOp::Mod, false),
            ],
        };
        for (text, op, is_word) in table {
            let ok = if *is_word {
                word(self, text)
            } else {
                here(self, text)
            };
            if ok {
                self.i += text.len();
                return Some(*op);
            }
        }
        None
    }

    fn binary(&mut self, level: usize) -> Result<Expr, VtlError> {
        if level > 5 {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        loop {
            self.skip_ws();
            // `..` in a range is not two operators.
            if self.peek() == Some('.') {
                break;
            }
            let Some(op) = self.operator(level) else {
                break;
            };
            let right = self.binary(level + 1)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, VtlError> {
        self.skip_ws();
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_at(self.i, "expression nested too deeply"));
        }
        let r = match self.peek() {
            Some('!') if self.peek_at(self.i + 1) != Some('=') => {
                self.i += 1;
                self.unary().map(|e| Expr::Not(Box::new(e)))
            }
            Some('n') if self.ident_at(self.i).is_some_and(|(w, _)| w == "not") => {
                self.i += 3;
                self.unary().map(|e| Expr::Not(Box::new(e)))
            }
            Some('-') if !self.peek_at(self.i + 1).is_some_and(|c| c.is_ascii_digit()) => {
                self.i += 1;
                self.unary().map(|e| Expr::Neg(Box::new(e)))
            }
            _ => self.primary(),
        };
        self.depth -= 1;
        r
    }

    fn primary(&mut self) -> Result<Expr, VtlError> {
        self.skip_ws();
        let at = self.i;
        let Some(c) = self.peek() else {
            return Err(self.err_at(at, "unexpected end of template in expression"));
        };
        match c {
            '$' => match self.reference(false)? {
                Some(r) => Ok(Expr::Ref(r)),
                None => Err(self.err_at(at, "expected a reference name after '$'")),
            },
            '0'..='9' | '-' => self.number(),
            '\'' => {
                // Single quotes: no interpolation, no escapes; `''` is one quote.
                self.i += 1;
                let mut s = String::new();
                loop {
                    match self.peek() {
                        None => return Err(self.err_at(at, "unclosed string literal")),
                        Some('\'') if self.peek_at(self.i + 1) == Some('\'') => {
                            s.push('\'');
                            self.i += 2;
                        }
                        Some('\'') => {
                            self.i += 1;
                            return Ok(Expr::Str(s));
                        }
                        Some(ch) => {
                            s.push(ch);
                            self.i += 1;
                        }
                    }
                }
            }
            '"' => {
                // Double quotes interpolate references. Backslashes are kept as written
                // (Velocity 1.7 does not unescape them), but `\"` does not end the string.
                self.i += 1;
                let from = self.i;
                loop {
                    match self.peek() {
                        None => return Err(self.err_at(at, "unclosed string literal")),
                        Some('\\') => self.i += 2,
                        Some('"') if self.peek_at(self.i + 1) == Some('"') => self.i += 2,
                        Some('"') => break,
                        Some(_) => self.i += 1,
                    }
                }
                let to = self.i.min(self.end);
                self.i = to + 1;
                let raw: String = self.chars[from..to].iter().collect();
                if raw.contains('$') {
                    let nodes = self.interpolation(from, to)?;
                    Ok(Expr::Interpolated(nodes))
                } else {
                    Ok(Expr::Str(raw.replace("\"\"", "\"")))
                }
            }
            '[' => {
                self.i += 1;
                self.skip_ws();
                if self.peek() == Some(']') {
                    self.i += 1;
                    return Ok(Expr::List(Vec::new()));
                }
                let first = self.expr()?;
                self.skip_ws();
                if self.peek() == Some('.') && self.peek_at(self.i + 1) == Some('.') {
                    self.i += 2;
                    let last = self.expr()?;
                    self.skip_ws();
                    if self.peek() != Some(']') {
                        return Err(self.err_at(self.i, "expected ']' to close the range"));
                    }
                    self.i += 1;
                    return Ok(Expr::Range(
                        Box::new(first),
                        Box::new(last),
                        self.pos_at(at),
                    ));
                }
                let mut items = vec![first];
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => {
                            self.i += 1;
                            items.push(self.expr()?);
                        }
                        Some(']') => {
                            self.i += 1;
                            return Ok(Expr::List(items));
                        }
                        _ => return Err(self.err_at(at, "unclosed list: expected ',' or ']'")),
                    }
                }
            }
            '{' => {
                self.i += 1;
                let mut entries = Vec::new();
                self.skip_ws();
                if self.peek() == Some('}') {
                    self.i += 1;
                    return Ok(Expr::Map(entries));
                }
                loop {
                    let key = self.expr()?;
                    self.skip_ws();
                    if self.peek() != Some(':') {
                        return Err(self.err_at(self.i, "expected ':' in map literal"));
                    }
                    self.i += 1;
                    let value = self.expr()?;
                    entries.push((key, value));
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => self.i += 1,
                        Some('}') => {
                            self.i += 1;
                            return Ok(Expr::Map(entries));
                        }
                        _ => return Err(self.err_at(at, "unclosed map: expected ',' or '}'")),
                    }
                }
            }
            '(' => {
                self.i += 1;
                let e = self.expr()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.err_at(at, "unclosed '(': expected ')'"));
                }
                self.i += 1;
                Ok(e)
            }
            _ => match self.ident_at(at) {
                Some((w, k)) => match w.as_str() {
                    "true" => {
                        self.i = k;
                        Ok(Expr::Bool(true))
                    }
                    "false" => {
                        self.i = k;
                        Ok(Expr::Bool(false))
                    }
                    "null" => {
                        self.i = k;
                        Ok(Expr::Null)
                    }
                    _ => Err(self.err_at(
                        at,
                        format!("unexpected '{w}' in expression (references start with '$')"),
                    )),
                },
                None => Err(self.err_at(at, format!("unexpected '{c}' in expression"))),
            },
        }
    }

    fn number(&mut self) -> Result<Expr, VtlError> {
        let at = self.i;
        let mut j = self.i;
        if self.peek_at(j) == Some('-') {
            j += 1;
        }
        while self.peek_at(j).is_some_and(|c| c.is_ascii_digit()) {
            j += 1;
        }
        let mut float = false;
        // `1..3` is a range, not the float `1.`.
        if self.peek_at(j) == Some('.') && self.peek_at(j + 1).is_some_and(|c| c.is_ascii_digit()) {
            float = true;
            j += 1;
            while self.peek_at(j).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            }
        }
        if matches!(self.peek_at(j), Some('e' | 'E')) {
            let mut k = j + 1;
            if matches!(self.peek_at(k), Some('+' | '-')) {
                k += 1;
            }
            if self.peek_at(k).is_some_and(|c| c.is_ascii_digit()) {
                float = true;
                j = k;
                while self.peek_at(j).is_some_and(|c| c.is_ascii_digit()) {
                    j += 1;
                }
            }
        }
        let text: String = self.chars[at..j].iter().collect();
        self.i = j;
        if float {
            text.parse::<f64>()
                .map(Expr::Float)
                .map_err(|_| self.err_at(at, format!("bad number '{text}'")))
        } else {
            match text.parse::<i64>() {
                Ok(n) => Ok(Expr::Int(n)),
                Err(_) => text
                    .parse::<f64>()
                    .map(Expr::Float)
                    .map_err(|_| self.err_at(at, format!("bad number '{text}'"))),
            }
        }
    }
}
