//! Display names in a reader's order: the Unicode Collation Algorithm with
//! CLDR's root order (ICU4X), so "Åland Islands" sorts with the A's, not
//! after "Zimbabwe" as it would by code point.

use icu_collator::options::CollatorOptions;
use icu_collator::{Collator, CollatorBorrowed};
use std::cmp::Ordering;
use std::sync::LazyLock;

/// The root collator, built once from compiled data.
static ROOT: LazyLock<Option<CollatorBorrowed<'static>>> = LazyLock::new(|| {
    Collator::try_new(Default::default(), CollatorOptions::default())
        .map_err(
            |e| tracing::error!(error = %e, "root collator unavailable; names sort by code point"),
        )
        .ok()
});

/// Compares two display names by the root collation; names the collation
/// finds equal are ordered by code point, so the order is total.
pub fn compare_names(a: &str, b: &str) -> Ordering {
    ROOT.as_ref()
        .map_or(Ordering::Equal, |c| c.compare(a, b))
        .then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accented_names_sort_with_their_base_letter() {
        // GIVEN names with accents, case differences and other scripts
        let mut names = vec![
            "Zimbabwe",
            "Åland Islands",
            "Côte d'Ivoire",
            "albania",
            "Curaçao",
            "Egypt",
            "Éire",
        ];
        // WHEN sorted by the collation
        names.sort_by(|a, b| compare_names(a, b));
        // THEN accents and case do not move a name away from its letter
        assert_eq!(
            names,
            [
                "Åland Islands",
                "albania",
                "Côte d'Ivoire",
                "Curaçao",
                "Egypt",
                "Éire",
                "Zimbabwe"
            ]
        );
    }

    #[test]
    fn the_order_is_total() {
        assert_eq!(compare_names("a", "a"), Ordering::Equal);
        assert_ne!(compare_names("a", "A"), Ordering::Equal);
    }
}
