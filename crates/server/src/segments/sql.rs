//! A condition tree → one portable SQL predicate over `contacts c`, with every user value bound.
//!
//! The only text written into the SQL from the condition is a `data.<key>` path, whose parts
//! were validated to `[A-Za-z0-9_-]` by the parser. JSON access differs per backend, so it goes
//! through [`Dialect`]. Every predicate is two-valued (`COALESCE(…, FALSE)`), so `NOT` of a
//! missing key is true instead of SQL's unknown.

use super::parse::{Activity, Cmp, DataOp, Node, Scalar, TextOp};
use crate::store::Backend;

/// A bound value; `$1` is always the project id.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
    Float(f64),
}

/// How activity rules reach the events table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// `EXISTS (… WHERE e.contact_id = c.id …)`: a probe of `events_contact` per contact.
    /// Cheapest when few contacts are visited (one contact, one page).
    Correlated,
    /// `c.id IN (SELECT e.contact_id … WHERE e.project_id = $1 AND e.name = …)`: SQLite builds
    /// the set of matching contacts once from `events_segment`, then probes it per contact.
    /// Cheapest for counting a whole project on SQLite. (PostgreSQL plans `EXISTS` as a hash
    /// semi/anti-join already, and its `NOT IN` may fall back to a per-row scan, so it keeps
    /// the correlated form.)
    Set,
}

pub struct Compiled {
    pub args: Vec<Arg>,
    now_ms: i64,
    dialect: Dialect,
    shape: Shape,
}

impl Compiled {
    pub fn new(backend: Backend, shape: Shape, project_id: &str, now_ms: i64) -> Compiled {
        Compiled {
            args: vec![Arg::Text(project_id.to_string())],
            now_ms,
            dialect: Dialect(backend),
            shape,
        }
    }

    pub fn bind_arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// The predicate for `node`; `c` is the contacts row.
    pub fn predicate(&mut self, node: &Node) -> String {
        match node {
            Node::All(items) => self.group(items, " AND "),
            Node::Any(items) => self.group(items, " OR "),
            Node::Subscribed(b) => format!("c.subscribed = {}", i64::from(*b)),
            Node::Email(op, value) => {
                let p = self.bind_arg(Arg::Text(value.clone()));
                match op {
                    TextOp::Equals => format!("c.email = {p}"),
                    TextOp::NotEquals => format!("c.email <> {p}"),
                    TextOp::Contains => self.dialect.substring("c.email", &p),
                    TextOp::NotContains => {
                        format!("NOT ({})", self.dialect.substring("c.email", &p))
                    }
                }
            }
            Node::Data(path, op) => self.data(path, op),
            Node::Activity(a) => self.activity(a),
        }
    }

    fn group(&mut self, items: &[Node], joiner: &str) -> String {
        let parts: Vec<String> = items
            .iter()
            .map(|n| format!("({})", self.predicate(n)))
            .collect();
        parts.join(joiner)
    }

    fn data(&mut self, path: &[String], op: &DataOp) -> String {
        let d = self.dialect;
        let j = d.json(path);
        let two_valued = |p: String| format!("COALESCE(({p}), FALSE)");
        match op {
            DataOp::Exists => two_valued(d.exists(&j)),
            DataOp::NotExists => format!("NOT {}", two_valued(d.exists(&j))),
            DataOp::Equals(s) => two_valued(self.equals(&j, s)),
            DataOp::NotEquals(s) => format!("NOT {}", two_valued(self.equals(&j, s))),
            DataOp::Contains(s) => {
                let p = self.bind_arg(Arg::Text(s.clone()));
                two_valued(d.contains(&j, &p))
            }
            DataOp::NotContains(s) => {
                let p = self.bind_arg(Arg::Text(s.clone()));
                format!("NOT {}", two_valued(d.contains(&j, &p)))
            }
            DataOp::Compare(cmp, n) => {
                let p = self.bind_arg(Arg::Float(*n));
                let sym = match cmp {
                    Cmp::Gt => ">",
                    Cmp::Gte => ">=",
                    Cmp::Lt => "<",
                    Cmp::Lte => "<=",
                };
                two_valued(format!("{} {sym} {p}", d.number(&j)))
            }
        }
    }

    fn equals(&mut self, j: &JsonPath, s: &Scalar) -> String {
        let d = self.dialect;
        match s {
            Scalar::Str(v) => {
                let p = self.bind_arg(Arg::Text(v.clone()));
                format!("{} AND {} = {p}", d.is_string(j), d.text(j))
            }
            Scalar::Num(n) => {
                let p = self.bind_arg(Arg::Float(*n));
                format!("{} = {p}", d.number(j))
            }
            Scalar::Bool(b) => d.is_bool(j, *b),
        }
    }

    fn activity(&mut self, a: &Activity) -> String {
        let mut filters = vec![format!(
            "e.name = {}",
            self.bind_arg(Arg::Text(a.event.clone()))
        )];
        if let Some(ms) = a.within_ms {
            let since = self.bind_arg(Arg::Int(self.now_ms - ms));
            filters.push(format!("e.created_at >= {since}"));
        }
        if a.human_only {
            filters.push("e.machine IS NULL".into());
        }
        if let Some(id) = &a.campaign_id {
            filters.push(format!(
                "e.campaign_id = {}",
                self.bind_arg(Arg::Text(id.clone()))
            ));
        }
        if let Some(id) = &a.template_id {
            filters.push(format!(
                "e.template_id = {}",
                self.bind_arg(Arg::Text(id.clone()))
            ));
        }
        if let Some(url) = &a.link {
            filters.push(format!(
                "e.link_url = {}",
                self.bind_arg(Arg::Text(url.clone()))
            ));
        }
        let filters = filters.join(" AND ");
        let not = if a.negated { "NOT " } else { "" };
        match self.shape {
            Shape::Correlated => format!(
                "{not}EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id AND {filters})"
            ),
            Shape::Set => format!(
                "c.id {not}IN (SELECT e.contact_id FROM events e \
                 WHERE e.project_id = $1 AND {filters})"
            ),
        }
    }
}

/// A JSON path inside `c.data`, rendered once per backend.
pub struct JsonPath {
    /// SQLite: `'$."a"."b"'`; PostgreSQL: `'{a,b}'`.
    literal: String,
}

#[derive(Debug, Clone, Copy)]
struct Dialect(Backend);

impl Dialect {
    fn json(self, parts: &[String]) -> JsonPath {
        let literal = match self.0 {
            Backend::Sqlite => {
                let quoted: Vec<String> = parts.iter().map(|p| format!("\"{p}\"")).collect();
                format!("'$.{}'", quoted.join("."))
            }
            Backend::Postgres => format!("'{{{}}}'", parts.join(",")),
        };
        JsonPath { literal }
    }

    /// The value's JSON type: SQLite says text/integer/real/true/false/null/object/array,
    /// PostgreSQL string/number/boolean/null/object/array; NULL when the key is missing.
    fn kind(self, j: &JsonPath) -> String {
        match self.0 {
            Backend::Sqlite => format!("json_type(c.data, {})", j.literal),
            Backend::Postgres => format!("jsonb_typeof(c.data::jsonb #> {})", j.literal),
        }
    }

    fn exists(self, j: &JsonPath) -> String {
        format!("{} <> 'null'", self.kind(j))
    }

    fn is_string(self, j: &JsonPath) -> String {
        match self.0 {
            Backend::Sqlite => format!("{} = 'text'", self.kind(j)),
            Backend::Postgres => format!("{} = 'string'", self.kind(j)),
        }
    }

    fn is_bool(self, j: &JsonPath, b: bool) -> String {
        match self.0 {
            Backend::Sqlite => format!("{} = '{b}'", self.kind(j)),
            Backend::Postgres => format!("(c.data::jsonb #> {}) = '{b}'::jsonb", j.literal),
        }
    }

    /// The value as text (strings unquoted).
    fn text(self, j: &JsonPath) -> String {
        match self.0 {
            Backend::Sqlite => format!("json_extract(c.data, {})", j.literal),
            Backend::Postgres => format!("(c.data::jsonb #>> {})", j.literal),
        }
    }

    /// The value as a float, NULL unless it is a JSON number. CASE, not AND, guards the CAST:
    /// PostgreSQL may evaluate AND's operands in any order, and CAST('abc') is an error there.
    fn number(self, j: &JsonPath) -> String {
        match self.0 {
            Backend::Sqlite => format!(
                "(CASE WHEN {} IN ('integer', 'real') THEN CAST({} AS REAL) END)",
                self.kind(j),
                self.text(j)
            ),
            Backend::Postgres => format!(
                "(CASE WHEN {} = 'number' THEN CAST({} AS DOUBLE PRECISION) END)",
                self.kind(j),
                self.text(j)
            ),
        }
    }

    fn substring(self, haystack: &str, needle: &str) -> String {
        match self.0 {
            Backend::Sqlite => format!("instr({haystack}, {needle}) > 0"),
            Backend::Postgres => format!("strpos({haystack}, {needle}) > 0"),
        }
    }

    /// A string containing `needle`, or an array with the string `needle` as an element.
    fn contains(self, j: &JsonPath, needle: &str) -> String {
        let kind = self.kind(j);
        let text = self.text(j);
        let substring = self.substring(&text, needle);
        match self.0 {
            Backend::Sqlite => format!(
                "CASE {kind} WHEN 'text' THEN {substring} WHEN 'array' THEN EXISTS \
                 (SELECT 1 FROM json_each(c.data, {}) je WHERE je.type = 'text' \
                 AND je.value = {needle}) ELSE FALSE END",
                j.literal
            ),
            Backend::Postgres => format!(
                "CASE {kind} WHEN 'string' THEN {substring} WHEN 'array' THEN \
                 (c.data::jsonb #> {}) @> jsonb_build_array(CAST({needle} AS TEXT)) \
                 ELSE FALSE END",
                j.literal
            ),
        }
    }
}
