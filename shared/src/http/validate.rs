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
                message: error.message().to_string(),
            })
            .collect(),
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
