//! Request validation: every bad field is reported, not just the first.

use super::problem::{FieldError, Problem};

/// The field errors garde finds in a request body.
pub fn fields<T: garde::Validate<Context = ()>>(value: &T) -> Vec<FieldError> {
    match value.validate() {
        Ok(()) => Vec::new(),
        Err(report) => report
            .iter()
            .map(|(path, error)| FieldError {
                field: path.to_string(),
                message: in_our_words(error.message()),
            })
            .collect(),
    }
}

/// garde's rule messages as the product says them.
fn in_our_words(message: &str) -> String {
    let number = |rest: &str| rest.trim().to_string();
    if let Some(n) = message.strip_prefix("length is lower than ") {
        format!("must be at least {} characters long", number(n))
    } else if let Some(n) = message.strip_prefix("length is greater than ") {
        format!("must be at most {} characters long", number(n))
    } else if let Some(n) = message.strip_prefix("lower than ") {
        format!("must be {} or more", number(n))
    } else if let Some(n) = message.strip_prefix("greater than ") {
        format!("must be {} or less", number(n))
    } else if message.starts_with("not a valid email") {
        "must be an email address".into()
    } else if message.starts_with("does not match pattern") {
        "is not in the allowed form".into()
    } else {
        message.to_string()
    }
}

/// garde's `custom` rule for how many items a list holds (`#[garde(custom(items(1, 50)))]`):
/// garde's `length` rule says its limits in characters, which is what the product's text
/// lengths count (`length(chars, ..)`), so a list's limits are said in items.
pub fn items<T>(min: usize, max: usize) -> impl FnOnce(&Vec<T>, &()) -> garde::Result {
    let counted = |n: usize| {
        if n == 1 {
            "1 item".to_string()
        } else {
            format!("{n} items")
        }
    };
    move |list, ()| {
        if list.len() < min {
            Err(garde::Error::new(format!(
                "must have at least {}",
                counted(min)
            )))
        } else if list.len() > max {
            Err(garde::Error::new(format!(
                "must have at most {}",
                counted(max)
            )))
        } else {
            Ok(())
        }
    }
}

/// Pushes `field`'s error when `text` holds only whitespace: a length rule lets it through,
/// and trimmed it would be stored empty (an empty text is the length rule's to refuse).
pub fn not_blank(errors: &mut Vec<FieldError>, field: &str, text: &str) {
    if !text.is_empty() && text.trim().is_empty() {
        errors.push(FieldError {
            field: field.into(),
            message: "must not be blank".into(),
        });
    }
}

/// 422 listing `errors`, when there are any.
pub fn finish(errors: Vec<FieldError>) -> Result<(), Problem> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::validation(errors))
    }
}

/// 400 `invalid_query` listing `errors` about query parameters, when there are any.
pub fn finish_query(errors: Vec<FieldError>) -> Result<(), Problem> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::invalid_query(errors))
    }
}

/// One error per field, in the order the fields were first named; what is wrong with a
/// field that breaks several rules is said in one message.
pub fn once_per_field(errors: Vec<FieldError>) -> Vec<FieldError> {
    let mut merged: Vec<FieldError> = Vec::new();
    for error in errors {
        match merged.iter_mut().find(|e| e.field == error.field) {
            Some(seen) if !seen.message.contains(&error.message) => {
                seen.message = format!("{}; {}", seen.message, error.message);
            }
            Some(_) => {}
            None => merged.push(error),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(field: &str, message: &str) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }

    #[derive(garde::Validate)]
    struct Titled {
        #[garde(length(chars, min = 1, max = 5))]
        title: String,
        #[garde(custom(items(1, 2)), inner(length(chars, min = 1, max = 3)))]
        tags: Vec<String>,
    }

    fn said(title: &str, tags: &[&str]) -> Vec<(String, String)> {
        let value = Titled {
            title: title.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        };
        fields(&value)
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    #[test]
    fn texts_count_characters_and_lists_count_items() {
        // Five characters of three bytes each: within a limit of five characters.
        assert_eq!(said("千と千尋の", &["神隠し"]), vec![]);
        let too_long = || {
            (
                "title".to_string(),
                "must be at most 5 characters long".to_string(),
            )
        };
        assert_eq!(said("千と千尋の神", &["a"]), vec![too_long()]);
        assert_eq!(
            said("a", &[]),
            vec![("tags".into(), "must have at least 1 item".into())]
        );
        assert_eq!(
            said("a", &["a", "b", "神隠しの"]),
            vec![
                ("tags[2]".into(), "must be at most 3 characters long".into()),
                ("tags".into(), "must have at most 2 items".into()),
            ]
        );
    }

    #[test]
    fn each_field_is_named_once() {
        let merged = once_per_field(vec![
            error("name", "length is lower than 1"),
            error("year", "must be a year"),
            error("name", "must not be blank"),
            error("name", "must not be blank"),
        ]);
        let pairs: Vec<(&str, &str)> = merged
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("name", "length is lower than 1; must not be blank"),
                ("year", "must be a year")
            ]
        );
    }
}
