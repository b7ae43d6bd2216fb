//! Tokens → block tree, after removing the whitespace of directive-only lines.

use super::VtlError;
use super::ast::{Node, Pos};
use super::lexer::{Lexer, MAX_DEPTH, Tok, Token};

pub(super) fn parse(source: &str) -> Result<Vec<Node>, VtlError> {
    let mut lexer = Lexer::new(source);
    let tokens = lexer.tokens(false)?;
    let tokens = gobble_directive_lines(tokens);
    let mut p = Parser { tokens, i: 0 };
    let (nodes, end) = p.block(0)?;
    match end {
        None => Ok(nodes),
        Some(t) => Err(err(
            t.pos,
            match t.tok {
                Tok::End => "#end without a matching #if or #foreach",
                Tok::Else => "#else without a matching #if",
                _ => "#elseif without a matching #if",
            },
        )),
    }
}

fn err(pos: Pos, message: &str) -> VtlError {
    VtlError {
        line: pos.line,
        column: pos.column,
        message: message.to_string(),
    }
}

fn is_directive(t: &Tok) -> bool {
    !matches!(t, Tok::Text(_) | Tok::Ref(_))
}

fn is_blank(s: &str) -> bool {
    s.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// A line holding only directives (and comments) and blanks disappears entirely, newline
/// and indentation included, so that templates laid out like AWS's JSON examples give
/// clean output. (This is the "lines" space-gobbling that Velocity is known for.)
fn gobble_directive_lines(tokens: Vec<Token>) -> Vec<Token> {
    // Split text at newlines so that every line ends at a token boundary.
    let mut split = Vec::with_capacity(tokens.len());
    for t in tokens {
        match t.tok {
            Tok::Text(s) if s.contains('\n') => {
                let mut pos = t.pos;
                for piece in s.split_inclusive('\n') {
                    split.push(Token {
                        tok: Tok::Text(piece.to_string()),
                        pos,
                    });
                    pos = Pos {
                        line: pos.line + 1,
                        column: 1,
                    };
                }
            }
            tok => split.push(Token { tok, pos: t.pos }),
        }
    }
    let mut out = Vec::with_capacity(split.len());
    let mut line: Vec<Token> = Vec::new();
    let flush = |line: &mut Vec<Token>, out: &mut Vec<Token>| {
        let has_directive = line.iter().any(|t| is_directive(&t.tok));
        let only_blanks = line.iter().all(|t| match &t.tok {
            Tok::Text(s) => is_blank(s),
            Tok::Ref(_) => false,
            _ => true,
        });
        let gobble = has_directive && only_blanks;
        for t in line.drain(..) {
            match t.tok {
                Tok::Comment { .. } => {}
                Tok::Text(_) if gobble => {}
                _ => out.push(t),
            }
        }
    };
    for t in split {
        let ends_line = match &t.tok {
            Tok::Text(s) => s.ends_with('\n'),
            Tok::Comment { ends_line } => *ends_line,
            _ => false,
        };
        line.push(t);
        if ends_line {
            flush(&mut line, &mut out);
        }
    }
    flush(&mut line, &mut out);
    out
}

struct Parser {
    tokens: Vec<Token>,
    i: usize,
}

impl Parser {
    /// Nodes up to an `#end`/`#else`/`#elseif` (returned) or the end of input (`None`).
    fn block(&mut self, depth: usize) -> Result<(Vec<Node>, Option<Token>), VtlError> {
        let mut nodes: Vec<Node> = Vec::new();
        while self.i < self.tokens.len() {
            let t = self.tokens[self.i].clone();
            self.i += 1;
            let pos = t.pos;
            match t.tok {
                Tok::Text(s) => match nodes.last_mut() {
                    Some(Node::Text(prev)) => prev.push_str(&s),
                    _ => nodes.push(Node::Text(s)),
                },
                Tok::Ref(r) => nodes.push(Node::Ref(r)),
                Tok::Set(target, value) => nodes.push(Node::Set { target, value }),
                Tok::Break => nodes.push(Node::Break),
                Tok::Stop => nodes.push(Node::Stop),
                Tok::Comment { .. } => {}
                Tok::End | Tok::Else | Tok::ElseIf(_) => {
                    return Ok((nodes, Some(Token { tok: t.tok, pos })));
                }
                Tok::If(cond) => {
                    if depth >= MAX_DEPTH {
                        return Err(err(pos, "blocks nested too deeply"));
                    }
                    let mut branches = Vec::new();
                    let mut cond = cond;
                    let mut otherwise = None;
                    loop {
                        let (body, end) = self.block(depth + 1)?;
                        match end.map(|e| e.tok) {
                            Some(Tok::End) => {
                                branches.push((cond, body));
                                break;
                            }
                            Some(Tok::ElseIf(next)) => {
                                branches.push((cond, body));
                                cond = next;
                            }
                            Some(Tok::Else) => {
                                branches.push((cond, body));
                                let (else_body, end) = self.block(depth + 1)?;
                                match end {
                                    Some(Token { tok: Tok::End, .. }) => {}
                                    Some(other) => {
                                        return Err(err(other.pos, "#else or #elseif after #else"));
                                    }
                                    None => return Err(err(pos, "unclosed #if: expected #end")),
                                }
                                otherwise = Some(else_body);
                                break;
                            }
                            _ => return Err(err(pos, "unclosed #if: expected #end")),
                        }
                    }
                    nodes.push(Node::If {
                        branches,
                        otherwise,
                    });
                }
                Tok::Foreach(var, iterable) => {
                    if depth >= MAX_DEPTH {
                        return Err(err(pos, "blocks nested too deeply"));
                    }
                    let (body, end) = self.block(depth + 1)?;
                    match end {
                        Some(Token { tok: Tok::End, .. }) => {}
                        Some(other) => {
                            return Err(err(
                                other.pos,
                                "#else/#elseif inside #foreach without a matching #if",
                            ));
                        }
                        None => return Err(err(pos, "unclosed #foreach: expected #end")),
                    }
                    nodes.push(Node::Foreach {
                        var,
                        iterable,
                        body,
                        pos,
                    });
                }
            }
        }
        Ok((nodes, None))
    }
}
