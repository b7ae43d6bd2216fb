//! The parsed form of a template. Plain data (no `Rc`), so a `Template` is `Send + Sync`.

/// 1-based line and column of a construct in the template source, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// A block of template output.
#[derive(Debug, Clone)]
pub enum Node {
    Text(String),
    /// `$ref` in text: rendered as its value, or as its own source text when null.
    Ref(Reference),
    Set {
        target: Reference,
        value: Expr,
    },
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Option<Vec<Node>>,
    },
    Foreach {
        var: String,
        iterable: Expr,
        body: Vec<Node>,
        pos: Pos,
    },
    Break,
    Stop,
}

/// `$a.b.c(x)[i]`, `$!{a}`, ...
#[derive(Debug, Clone)]
pub struct Reference {
    pub name: String,
    pub parts: Vec<Part>,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub enum Part {
    Property(String),
    Method(String, Vec<Expr>, Pos),
    Index(Expr, Pos),
}

#[derive(Debug, Clone)]
pub enum Expr {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A single-quoted string, or a double-quoted one without references.
    Str(String),
    /// A double-quoted string with references in it.
    Interpolated(Vec<Node>),
    Ref(Reference),
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Range(Box<Expr>, Box<Expr>, Pos),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}
