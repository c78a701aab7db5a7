//! Typed write conditions, the subset of DynamoDB condition expressions the product uses.

use super::{Item, schema};
use serde_json::Value;
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub(crate) fn operator(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The item exists.
    Exists,
    /// The item does not exist.
    NotExists,
    AttrExists(String),
    AttrNotExists(String),
    Compare {
        attr: String,
        cmp: Cmp,
        value: Value,
    },
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    pub fn eq(attr: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::compare(attr, Cmp::Eq, value)
    }

    pub fn compare(attr: impl Into<String>, cmp: Cmp, value: impl Into<Value>) -> Self {
        Self::Compare {
            attr: attr.into(),
            cmp,
            value: value.into(),
        }
    }

    pub fn and(self, other: Condition) -> Self {
        match self {
            Self::And(mut all) => {
                all.push(other);
                Self::And(all)
            }
            first => Self::And(vec![first, other]),
        }
    }

    pub fn or(self, other: Condition) -> Self {
        Self::Or(vec![self, other])
    }

    /// Evaluates the condition against the current item (`None`: no such item), the way
    /// DynamoDB does: comparisons with a missing attribute or a different type are false.
    pub fn holds(&self, item: Option<&Item>) -> bool {
        let attr = |name: &str| item.and_then(|i| i.get(name));
        match self {
            Self::Exists => item.is_some(),
            Self::NotExists => item.is_none(),
            Self::AttrExists(a) => attr(a).is_some(),
            Self::AttrNotExists(a) => attr(a).is_none(),
            Self::Compare {
                attr: a,
                cmp,
                value,
            } => match attr(a) {
                Some(current) => compare(current, value).is_some_and(|o| match cmp {
                    Cmp::Eq => o == Ordering::Equal,
                    Cmp::Ne => o != Ordering::Equal,
                    Cmp::Lt => o == Ordering::Less,
                    Cmp::Le => o != Ordering::Greater,
                    Cmp::Gt => o == Ordering::Greater,
                    Cmp::Ge => o != Ordering::Less,
                }),
                // DynamoDB: `a <> v` is true when `a` is missing.
                None => *cmp == Cmp::Ne,
            },
            Self::And(all) => all.iter().all(|c| c.holds(item)),
            Self::Or(any) => any.iter().any(|c| c.holds(item)),
            Self::Not(c) => !c.holds(item),
        }
    }

    /// The attribute DynamoDB checks for item (non-)existence.
    pub(crate) fn existence_attr() -> &'static str {
        schema::PK
    }
}

/// Orders two values of the same DynamoDB type; `None` when the types differ.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
        },
        // Rust compares strings by their UTF-8 bytes, as DynamoDB does.
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) if x == y => Some(Ordering::Equal),
        (Value::Bool(_), Value::Bool(_)) => Some(Ordering::Less),
        (x, y) if x == y => Some(Ordering::Equal),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Item {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn existence_and_comparisons_follow_dynamodb() {
        let it = item(json!({"PK": "a", "SK": "b", "n": 5, "s": "abc", "ok": true}));
        assert!(Condition::Exists.holds(Some(&it)));
        assert!(!Condition::Exists.holds(None));
        assert!(Condition::NotExists.holds(None));
        assert!(Condition::compare("n", Cmp::Ge, 5).holds(Some(&it)));
        assert!(!Condition::compare("n", Cmp::Gt, 5).holds(Some(&it)));
        assert!(Condition::compare("s", Cmp::Lt, "abd").holds(Some(&it)));
        assert!(!Condition::eq("n", "5").holds(Some(&it)), "types differ");
        assert!(Condition::compare("missing", Cmp::Ne, 1).holds(Some(&it)));
        assert!(!Condition::eq("missing", 1).holds(Some(&it)));
        assert!(Condition::eq("ok", true).holds(Some(&it)));
        let both = Condition::eq("n", 5).and(Condition::AttrNotExists("x".into()));
        assert!(both.holds(Some(&it)));
        assert!(!Condition::Not(Box::new(both)).holds(Some(&it)));
        assert!(
            Condition::eq("n", 1)
                .or(Condition::AttrExists("s".into()))
                .holds(Some(&it))
        );
    }

    #[test]
    fn numbers_compare_by_value_across_int_and_float() {
        let it = item(json!({"n": 2.5}));
        assert!(Condition::compare("n", Cmp::Gt, 2).holds(Some(&it)));
        assert!(Condition::compare("n", Cmp::Lt, 3).holds(Some(&it)));
    }
}
