//! Folding of searchable text: what the word index stores and what `q` is compared with,
//! so that "amelie" finds "Amélie" and "AMÉLIE".

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lowercase, accents dropped (canonical decomposition without its combining marks).
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The folded words of `text`: its runs of letters and digits.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(fold("Amélie À Ñandú"), "amelie a nandu");
        assert_eq!(
            words("Léon: the Professional (1994)").collect::<Vec<_>>(),
            ["leon", "the", "professional", "1994"]
        );
        assert_eq!(words(" -- ").count(), 0);
    }
}
