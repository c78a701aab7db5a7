//! What a JSON body must be before a handler sees it: an object, free of control
//! characters, and of the shape the route reads. Every refusal names the field and says,
//! in the product's words, what is wrong and what is allowed (serde's own wording, such as
//! "invalid type: floating point `5.5`, expected i64", never reaches a client).

use super::problem::FieldError;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Long texts, where a newline or a tab is part of the text. Every other string is one
/// line.
const MULTI_LINE_FIELDS: &[&str] = &["bio", "description", "text", "reason"];

/// The body as `T`, or the field errors that refuse it.
pub fn read<T: DeserializeOwned>(value: Value) -> Result<T, Vec<FieldError>> {
    if !value.is_object() {
        return Err(vec![FieldError {
            field: "body".into(),
            message: "must be a JSON object".into(),
        }]);
    }
    let mut errors = Vec::new();
    control_characters(&value, "", &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    serde_path_to_error::deserialize(Strict(value)).map_err(|e| {
        let path = e.path().to_string();
        vec![in_our_words(&path, &e.inner().to_string())]
    })
}

/// A JSON value read as serde_json reads it, except that a list is never taken for an
/// object: serde's derived structs also accept a sequence of their fields in order, so
/// `{"price": [500, "EUR"]}` would otherwise pass as a price.
struct Strict(Value);

impl<'de> serde::Deserializer<'de> for Strict {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(members) => visitor.visit_map(StrictMembers {
                members: members.into_iter(),
                value: None,
            }),
            Value::Array(items) => visitor.visit_seq(StrictItems(items.into_iter())),
            other => serde::Deserializer::deserialize_any(other, visitor),
        }
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(_) => Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Seq,
                &"an object",
            )),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        serde::Deserializer::deserialize_enum(self.0, name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct StrictMembers {
    members: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> serde::de::MapAccess<'de> for StrictMembers {
    type Error = serde_json::Error;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((name, value)) = self.members.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(serde::de::value::StringDeserializer::new(name))
            .map(Some)
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        seed.deserialize(Strict(self.value.take().unwrap_or(Value::Null)))
    }
}

struct StrictItems(std::vec::IntoIter<Value>);

impl<'de> serde::de::SeqAccess<'de> for StrictItems {
    type Error = serde_json::Error;

    fn next_element_seed<T: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0
            .next()
            .map(|item| seed.deserialize(Strict(item)))
            .transpose()
    }
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() || path == "." {
        segment.to_string()
    } else {
        format!("{path}.{segment}")
    }
}

fn control_characters(value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    match value {
        Value::Object(members) => {
            for (name, member) in members {
                control_characters(member, &join(path, name), errors);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                control_characters(item, &format!("{path}[{i}]"), errors);
            }
        }
        Value::String(text) => {
            let name = path.rsplit('.').next().unwrap_or(path);
            let multi_line = MULTI_LINE_FIELDS.contains(&name);
            if has_forbidden_control(text, multi_line) {
                errors.push(FieldError {
                    field: path.to_string(),
                    message: if multi_line {
                        "must not contain control characters (newlines and tabs are allowed)".into()
                    } else {
                        "must not contain control characters (such as newlines or tabs)".into()
                    },
                });
            }
        }
        _ => {}
    }
}

/// C0 and C1 control characters and DEL; a multi-line text may hold newlines (`\n`, or
/// `\r\n` as browsers send them) and tabs.
fn has_forbidden_control(text: &str, multi_line: bool) -> bool {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_control() {
            continue;
        }
        let allowed =
            multi_line && (c == '\n' || c == '\t' || (c == '\r' && chars.peek() == Some(&'\n')));
        if !allowed {
            return true;
        }
    }
    false
}

/// The text between the first pair of backticks in `message`.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(&message[start..end])
}

/// The backticked names after "expected" (`one of `a`, `b``), as `a, b`.
fn choices(message: &str) -> Option<String> {
    let (_, listed) = message.split_once("expected ")?;
    let names: Vec<&str> = listed.split('`').skip(1).step_by(2).collect();
    (!names.is_empty()).then(|| names.join(", "))
}

/// What serde expected, as a client would say it.
fn expected_in_our_words(expected: &str) -> String {
    let expected = expected.trim();
    match expected {
        "u8" => "a whole number from 0 to 255".into(),
        "u16" => "a whole number from 0 to 65535".into(),
        "u32" | "u64" | "usize" => "a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" | "an integer" => "a whole number".into(),
        "f32" | "f64" | "a number" => "a number".into(),
        "a string" | "a borrowed string" | "a character" => "text".into(),
        "a boolean" => "true or false".into(),
        "a sequence" => "a list".into(),
        "a map" => "an object".into(),
        e if e.starts_with("struct ") => "an object".into(),
        e if e.starts_with("a sequence") || e.starts_with("tuple") => "a list".into(),
        other => other.to_string(),
    }
}

/// The standard library's parse errors, which a query value that is not of its
/// parameter's type gives.
fn parse_failure(message: &str) -> Option<&'static str> {
    Some(match message {
        "invalid digit found in string" => "must be a whole number",
        "cannot parse integer from empty string" => "must be a whole number, not empty",
        "number too large to fit in target type" => "is too large",
        "number too small to fit in target type" => "is too small",
        "invalid float literal" | "cannot parse float from empty string" => "must be a number",
        "provided string was not `true` or `false`" => "must be true or false",
        _ => return None,
    })
}

/// One field error for a serde refusal at `path` (of a body, or of a query string).
pub fn in_our_words(path: &str, message: &str) -> FieldError {
    let at = |field: &str| FieldError {
        field: field.to_string(),
        message: String::new(),
    };
    let here = if path.is_empty() || path == "." {
        "body"
    } else {
        path
    };
    let mut error = at(here);
    if let Some(rest) = message.strip_prefix("missing field ") {
        let name = quoted(rest).unwrap_or(rest);
        error = at(&join(path, name));
        error.message = "is required".into();
    } else if message.starts_with("unknown field ") {
        let name = quoted(message).unwrap_or_default();
        // The path already ends at the unknown member, or at its object.
        let field = if here.ends_with(name) {
            here.to_string()
        } else {
            join(path, name)
        };
        error = at(&field);
        error.message = match choices(message) {
            Some(known) => format!("is not a known field (known fields: {known})"),
            None => "is not a known field".into(),
        };
    } else if message.starts_with("duplicate field ") {
        let name = quoted(message).unwrap_or_default();
        error = at(&join(path, name));
        error.message = "is given more than once".into();
    } else if message.starts_with("unknown variant ") {
        error.message = match choices(message) {
            Some(allowed) => format!("must be one of: {allowed}"),
            None => "is not an allowed value".into(),
        };
    } else if let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    {
        let expected = rest.rsplit_once(", expected ").map_or("", |(_, e)| e);
        error.message = if rest.starts_with("null") {
            format!(
                "must not be null; it must be {}",
                expected_in_our_words(expected)
            )
        } else {
            format!("must be {}", expected_in_our_words(expected))
        };
    } else if let Some(rest) = message.strip_prefix("invalid length ") {
        let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
        error.message = format!("must have {}", expected.trim());
    } else if let Some(own) = parse_failure(message) {
        // A query value: the text did not parse as the parameter's type.
        error.message = own.into();
    } else {
        // Our own deserializers' messages (already in the product's words).
        error.message = message.to_string();
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        amount: i64,
        currency: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Kind {
        Digital,
        Ticket,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        bio: Option<String>,
        seats: Option<u16>,
        price: Option<Inner>,
        kind: Option<Kind>,
        tags: Option<Vec<String>>,
    }

    fn refusal(value: Value) -> Vec<(String, String)> {
        read::<Body>(value)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    #[test]
    fn only_an_object_is_a_body() {
        for not_an_object in [json!(["name"]), json!("name"), json!(5), json!(null)] {
            assert_eq!(
                refusal(not_an_object),
                vec![("body".to_string(), "must be a JSON object".to_string())]
            );
        }
        assert!(read::<Body>(json!({"name": "Ana"})).is_ok());
    }

    #[test]
    fn unknown_members_are_refused_whatever_their_value() {
        for value in [json!(null), json!(1), json!("x")] {
            let errors = refusal(json!({"name": "Ana", "unknown": value}));
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].0, "unknown");
            assert!(
                errors[0]
                    .1
                    .starts_with("is not a known field (known fields: name, bio"),
                "{errors:?}"
            );
        }
        let nested =
            refusal(json!({"name": "A", "price": {"amount": 1, "currency": "EUR", "x": 1}}));
        assert_eq!(nested[0].0, "price.x", "{nested:?}");
    }

    #[test]
    fn wrong_types_are_told_in_our_words() {
        let cases = [
            (json!({"name": 5}), "name", "must be text"),
            (
                json!({"name": "A", "seats": 5.5}),
                "seats",
                "must be a whole number from 0 to 65535",
            ),
            (
                json!({"name": "A", "seats": -1}),
                "seats",
                "must be a whole number from 0 to 65535",
            ),
            (
                json!({"name": "A", "price": {"amount": "1", "currency": "EUR"}}),
                "price.amount",
                "must be a whole number",
            ),
            (
                json!({"name": "A", "price": {"currency": "EUR"}}),
                "price.amount",
                "is required",
            ),
            (
                json!({"name": "A", "price": []}),
                "price",
                "must be an object",
            ),
            (
                json!({"name": "A", "price": [500, "EUR"]}),
                "price",
                "must be an object",
            ),
            (
                json!({"name": "A", "kind": "vinyl"}),
                "kind",
                "must be one of: digital, ticket",
            ),
            (json!({"name": "A", "tags": "x"}), "tags", "must be a list"),
            (json!({"name": "A", "tags": [1]}), "tags[0]", "must be text"),
            (
                json!({"name": null}),
                "name",
                "must not be null; it must be text",
            ),
            (json!({}), "name", "is required"),
        ];
        for (body, field, message) in cases {
            assert_eq!(
                refusal(body.clone()),
                vec![(field.to_string(), message.to_string())],
                "{body}"
            );
        }
    }

    #[test]
    fn control_characters_are_refused_except_line_breaks_in_long_texts() {
        for bad in [
            "A\u{0}",
            "A\u{7}B",
            "A\u{1b}[31m",
            "A\u{7f}",
            "A\u{85}",
            "A\u{9b}",
            "A\nB",
            "A\tB",
        ] {
            let errors = refusal(json!({"name": bad}));
            assert_eq!(errors.len(), 1, "{bad:?}");
            assert_eq!(errors[0].0, "name");
        }
        assert!(
            read::<Body>(json!({"name": "A", "bio": "line one\nline two\r\n\tindented"})).is_ok()
        );
        let errors = refusal(json!({"name": "A", "bio": "bell\u{7}"}));
        assert_eq!(errors[0].0, "bio");
        let errors = refusal(json!({"name": "A", "tags": ["ok", "b\u{0}"]}));
        assert_eq!(errors[0].0, "tags[1]");
        // Emoji, accents and other scripts are text, not control characters.
        assert!(read::<Body>(json!({"name": "Amélie 🎬 東京"})).is_ok());
    }
}
