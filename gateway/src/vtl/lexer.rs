//! Template text → a flat list of tokens (text, references, directive heads).
//! Expressions inside references and directives are parsed here too (see `expr.rs`),
//! because where they end is only known by parsing them.

use super::VtlError;
use super::ast::{Expr, Node, Part, Pos, Reference};

/// Directives that API Gateway templates have no use for, or that would need a resource loader.
const REFUSED: &[&str] = &["macro", "parse", "include", "define", "evaluate"];

/// Deep nesting would overflow the stack; no real template comes near this.
pub(super) const MAX_DEPTH: usize = 100;

#[derive(Debug, Clone)]
pub(super) enum Tok {
    Text(String),
    Ref(Reference),
    Set(Reference, Expr),
    If(Expr),
    ElseIf(Expr),
    Else,
    End,
    Foreach(String, Expr),
    Break,
    Stop,
    /// `##…` (ends its line, newline included) or `#*…*#`; dropped after whitespace gobbling.
    Comment {
        ends_line: bool,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

pub(super) struct Lexer {
    pub(super) chars: Vec<char>,
    pub(super) i: usize,
    /// End of the range being lexed (a string literal's content is lexed as a sub-range).
    pub(super) end: usize,
    line_starts: Vec<usize>,
    pub(super) depth: usize,
}

pub(super) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

pub(super) fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Lexer {
    pub(super) fn new(source: &str) -> Lexer {
        let chars: Vec<char> = source.chars().collect();
        let mut line_starts = vec![0];
        for (i, c) in chars.iter().enumerate() {
            if *c == '\n' {
                line_starts.push(i + 1);
            }
        }
        let end = chars.len();
        Lexer {
            chars,
            i: 0,
            end,
            line_starts,
            depth: 0,
        }
    }

    pub(super) fn pos_at(&self, i: usize) -> Pos {
        let line = match self.line_starts.binary_search(&i) {
            Ok(l) => l,
            Err(l) => l.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        Pos {
            line: line + 1,
            column: i.saturating_sub(start) + 1,
        }
    }

    pub(super) fn err_at(&self, i: usize, message: impl Into<String>) -> VtlError {
        let p = self.pos_at(i);
        VtlError {
            line: p.line,
            column: p.column,
            message: message.into(),
        }
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.peek_at(self.i)
    }

    pub(super) fn peek_at(&self, i: usize) -> Option<char> {
        if i < self.end {
            self.chars.get(i).copied()
        } else {
            None
        }
    }

    pub(super) fn ident_at(&self, i: usize) -> Option<(String, usize)> {
        if !self.peek_at(i).is_some_and(is_ident_start) {
            return None;
        }
        let mut j = i;
        while self.peek_at(j).is_some_and(is_ident_char) {
            j += 1;
        }
        Some((self.chars[i..j].iter().collect(), j))
    }

    /// Lexes `[self.i, self.end)`. In a string literal (`in_string`) only references are
    /// recognised: directives and comments stay text.
    pub(super) fn tokens(&mut self, in_string: bool) -> Result<Vec<Token>, VtlError> {
        let mut out = Vec::new();
        let mut text = String::new();
        let mut text_start = self.i;
        macro_rules! flush {
            () => {
                if !text.is_empty() {
                    out.push(Token {
                        tok: Tok::Text(std::mem::take(&mut text)),
                        pos: self.pos_at(text_start),
                    });
                }
            };
        }
        while let Some(c) = self.peek() {
            if text.is_empty() {
                text_start = self.i;
            }
            match c {
                '\\' => {
                    // `\$ref` / `\#directive` print the construct literally; a backslash pair
                    // before a real reference prints one backslash (Velocity's escaping).
                    let mut j = self.i;
                    while self.peek_at(j) == Some('\\') {
                        j += 1;
                    }
                    let n = j - self.i;
                    let escapable = match self.peek_at(j) {
                        Some('$') => self.ref_starts_at(j),
                        Some('#') => !in_string && self.directive_starts_at(j),
                        _ => false,
                    };
                    if escapable {
                        text.extend(std::iter::repeat_n('\\', n / 2));
                        self.i = j;
                        if n % 2 == 1 {
                            // The escaped `$`/`#` and its name are literal text.
                            text.push(self.chars[j]);
                            self.i += 1;
                            if let Some((name, k)) = self.ident_at(self.i) {
                                text.push_str(&name);
                                self.i = k;
                            }
                        }
                    } else {
                        text.extend(std::iter::repeat_n('\\', n));
                        self.i = j;
                    }
                }
                '$' => {
                    let start = self.i;
                    match self.reference(true)? {
                        Some(r) => {
                            flush!();
                            out.push(Token {
                                pos: self.pos_at(start),
                                tok: Tok::Ref(r),
                            });
                        }
                        None => {
                            text.push('$');
                            self.i += 1;
                        }
                    }
                }
                '#' if !in_string => {
                    let start = self.i;
                    match self.directive()? {
                        Some(tok) => {
                            flush!();
                            out.push(Token {
                                tok,
                                pos: self.pos_at(start),
                            });
                        }
                        None => {
                            if self.i == start {
                                text.push('#');
                                self.i += 1;
                            } else {
                                // `#[[…]]#`: raw text, already consumed.
                                let raw: String =
                                    self.chars[start + 3..self.i - 3].iter().collect();
                                text.push_str(&raw);
                            }
                        }
                    }
                }
                _ => {
                    text.push(c);
                    self.i += 1;
                }
            }
        }
        flush!();
        Ok(out)
    }

    fn ref_starts_at(&self, i: usize) -> bool {
        let mut j = i + 1;
        if self.peek_at(j) == Some('!') {
            j += 1;
        }
        if self.peek_at(j) == Some('{') {
            j += 1;
        }
        self.peek_at(j).is_some_and(is_ident_start)
    }

    fn directive_starts_at(&self, i: usize) -> bool {
        let mut j = i + 1;
        if self.peek_at(j) == Some('{') {
            j += 1;
        }
        match self.ident_at(j) {
            Some((name, _)) => {
                matches!(
                    name.as_str(),
                    "set" | "if" | "elseif" | "else" | "end" | "foreach" | "break" | "stop"
                )
            }
            None => false,
        }
    }

    /// At `$`: a reference, or `None` when what follows is no reference (`$5`, `"$"`):
    /// then the `$` is plain text.
    pub(super) fn reference(&mut self, in_text: bool) -> Result<Option<Reference>, VtlError> {
        let start = self.i;
        let mut j = start + 1;
        let quiet = self.peek_at(j) == Some('!');
        if quiet {
            j += 1;
        }
        let braced = self.peek_at(j) == Some('{');
        if braced {
            j += 1;
        }
        let Some((name, after)) = self.ident_at(j) else {
            return Ok(None);
        };
        self.i = after;
        let mut parts = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    let dot = self.i;
                    let Some((member, after)) = self.ident_at(dot + 1) else {
                        break; // `$name.` at the end of a sentence: the dot is text
                    };
                    if self.peek_at(after) == Some('(') {
                        self.i = after + 1;
                        let args = self.call_args(dot)?;
                        parts.push(Part::Method(member, args, self.pos_at(dot + 1)));
                    } else {
                        self.i = after;
                        parts.push(Part::Property(member));
                    }
                }
                Some('[') => {
                    let open = self.i;
                    self.i += 1;
                    let parsed = self.expr().and_then(|e| {
                        self.skip_ws();
                        if self.peek() == Some(']') {
                            self.i += 1;
                            Ok(e)
                        } else {
                            Err(self.err_at(self.i, "expected ']' to close the index"))
                        }
                    });
                    match parsed {
                        Ok(e) => parts.push(Part::Index(e, self.pos_at(open))),
                        // In text, `$x[note]` is a reference followed by text, as in Velocity 1.7.
                        Err(_) if in_text => {
                            self.i = open;
                            break;
                        }
                        Err(e) => return Err(e),
                    }
                }
                _ => break,
            }
        }
        if braced {
            if self.peek() == Some('}') {
                self.i += 1;
            } else {
                return Err(self.err_at(start, "unclosed '${': expected '}'"));
            }
        }
        Ok(Some(Reference {
            name,
            parts,
            pos: self.pos_at(start),
        }))
    }

    /// After `(`: comma-separated expressions up to `)`.
    fn call_args(&mut self, at: usize) -> Result<Vec<Expr>, VtlError> {
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.i += 1;
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.i += 1,
                Some(')') => {
                    self.i += 1;
                    return Ok(args);
                }
                _ => return Err(self.err_at(at, "unclosed method call: expected ',' or ')'")),
            }
        }
    }

    /// At `#`: a directive token, a comment, raw `#[[…]]#` text (consumed, returns `None`),
    /// or `None` with nothing consumed when the `#` is plain text (`#fff`, `# 1`).
    fn directive(&mut self) -> Result<Option<Tok>, VtlError> {
        let start = self.i;
        match self.peek_at(start + 1) {
            Some('#') => {
                let mut j = start + 2;
                while let Some(c) = self.peek_at(j) {
                    j += 1;
                    if c == '\n' {
                        self.i = j;
                        return Ok(Some(Tok::Comment { ends_line: true }));
                    }
                }
                self.i = j;
                return Ok(Some(Tok::Comment { ends_line: true }));
            }
            Some('*') => {
                let mut j = start + 2;
                while j < self.end {
                    if self.chars[j] == '*' && self.peek_at(j + 1) == Some('#') {
                        self.i = j + 2;
                        return Ok(Some(Tok::Comment { ends_line: false }));
                    }
                    j += 1;
                }
                return Err(self.err_at(start, "unclosed block comment: expected '*#'"));
            }
            Some('[') if self.peek_at(start + 2) == Some('[') => {
                let mut j = start + 3;
                while j + 2 < self.end {
                    if self.chars[j] == ']' && self.chars[j + 1] == ']' && self.chars[j + 2] == '#'
                    {
                        self.i = j + 3;
                        return Ok(None);
                    }
                    j += 1;
                }
                return Err(self.err_at(start, "unclosed '#[[': expected ']]#'"));
            }
            _ => {}
        }
        let mut j = start + 1;
        let braced = self.peek_at(j) == Some('{');
        if braced {
            j += 1;
        }
        let Some((name, mut after)) = self.ident_at(j) else {
            return Ok(None);
        };
        if braced {
            if self.peek_at(after) != Some('}') {
                return Ok(None);
            }
            after += 1;
        }
        let known = matches!(
            name.as_str(),
            "set" | "if" | "elseif" | "else" | "end" | "foreach" | "break" | "stop"
        );
        if !known {
            if REFUSED.contains(&name.as_str()) {
                return Err(self.err_at(
                    start,
                    format!("#{name} is not supported in API Gateway mapping templates"),
                ));
            }
            return Ok(None);
        }
        self.i = after;
        let tok = match name.as_str() {
            "else" => Tok::Else,
            "end" => Tok::End,
            "break" => Tok::Break,
            "stop" => Tok::Stop,
            "set" => {
                self.open_paren(start, "#set")?;
                self.skip_ws();
                if self.peek() != Some('$') {
                    return Err(self.err_at(
                        self.i,
                        "#set needs a reference to assign, like #set($x = 1)",
                    ));
                }
                let target = match self.reference(false)? {
                    Some(r) if !r.parts.iter().any(|p| matches!(p, Part::Method(..))) => r,
                    _ => {
                        return Err(
                            self.err_at(self.i, "#set needs a variable or property to assign")
                        );
                    }
                };
                self.skip_ws();
                if self.peek() != Some('=') {
                    return Err(self.err_at(self.i, "expected '=' in #set"));
                }
                self.i += 1;
                let value = self.expr()?;
                self.close_paren(start, "#set")?;
                Tok::Set(target, value)
            }
            "if" | "elseif" => {
                self.open_paren(start, &format!("#{name}"))?;
                let cond = self.expr()?;
                self.close_paren(start, &format!("#{name}"))?;
                if name == "if" {
                    Tok::If(cond)
                } else {
                    Tok::ElseIf(cond)
                }
            }
            _ => {
                // foreach
                self.open_paren(start, "#foreach")?;
                self.skip_ws();
                let var_at = self.i;
                let var = match self.reference(false)? {
                    Some(r) if r.parts.is_empty() => r.name,
                    _ => {
                        return Err(self.err_at(
                            var_at,
                            "#foreach needs a loop variable, like #foreach($item in $list)",
                        ));
                    }
                };
                self.skip_ws();
                match self.ident_at(self.i) {
                    Some((w, k)) if w == "in" => self.i = k,
                    _ => return Err(self.err_at(self.i, "expected 'in' in #foreach")),
                }
                let iterable = self.expr()?;
                self.close_paren(start, "#foreach")?;
                Tok::Foreach(var, iterable)
            }
        };
        Ok(Some(tok))
    }

    fn open_paren(&mut self, start: usize, what: &str) -> Result<(), VtlError> {
        // Velocity allows blanks between the directive name and its `(`.
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.i += 1;
        }
        if self.peek() == Some('(') {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err_at(start, format!("expected '(' after {what}")))
        }
    }

    fn close_paren(&mut self, start: usize, what: &str) -> Result<(), VtlError> {
        self.skip_ws();
        if self.peek() == Some(')') {
            self.i += 1;
            Ok(())
        } else {
            let msg = match self.peek() {
                Some(c) => format!("unexpected '{c}' in {what}: expected ')'"),
                None => format!("unclosed {what}: expected ')'"),
            };
            Err(self.err_at(if self.peek().is_some() { self.i } else { start }, msg))
        }
    }

    /// The content of a double-quoted string literal, `[from, to)`, as interpolation nodes.
    pub(super) fn interpolation(&mut self, from: usize, to: usize) -> Result<Vec<Node>, VtlError> {
        let (saved_i, saved_end) = (self.i, self.end);
        self.i = from;
        self.end = to;
        let toks = self.tokens(true);
        self.i = saved_i;
        self.end = saved_end;
        let mut nodes = Vec::new();
        for t in toks? {
            match t.tok {
                Tok::Text(s) => nodes.push(Node::Text(s.replace("\"\"", "\""))),
                Tok::Ref(r) => nodes.push(Node::Ref(r)),
                _ => {}
            }
        }
        Ok(nodes)
    }
}
