//! Pages and sort orders of the v2 list endpoints: a validated page
//! position, the page envelope, and `"field,direction"` sort entries.

use super::error::ServiceError;
use serde::Serialize;

/// `size` when the request gives none.
pub const DEFAULT_SIZE: i64 = 20;
/// The largest `size`.
pub const MAX_SIZE: i64 = 200;
/// The largest `page`.
pub const MAX_PAGE: i64 = 1_000_000;
/// The deepest row a page may reach: `(page + 1) × size` at most. A source
/// that cannot skip rows (DynamoDB) holds up to this many rows for a page,
/// so it bounds a preview's memory; deeper reads are for exports.
pub const MAX_WINDOW: u64 = 50_000;
/// The most entries of `sort`.
pub const MAX_SORTS: usize = 5;

/// A validated page position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSpec {
    pub page: u64,
    pub size: u64,
}

impl PageSpec {
    /// Checks `page` (0..=[`MAX_PAGE`]) and `size` (1..=[`MAX_SIZE`], default
    /// [`DEFAULT_SIZE`]).
    ///
    /// # Errors
    /// [`ServiceError::InvalidPage`] naming each value out of range.
    pub fn new(page: Option<i64>, size: Option<i64>) -> Result<PageSpec, ServiceError> {
        let page = page.unwrap_or(0);
        let size = size.unwrap_or(DEFAULT_SIZE);
        let mut details = Vec::new();
        if !(0..=MAX_PAGE).contains(&page) {
            details.push(format!(
                "page: must be between 0 and {MAX_PAGE} (zero-based), got {page}"
            ));
        }
        if !(1..=MAX_SIZE).contains(&size) {
            details.push(format!(
                "size: must be between 1 and {MAX_SIZE}, got {size}"
            ));
        }
        if details.is_empty() && (page + 1).saturating_mul(size).unsigned_abs() > MAX_WINDOW {
            details.push(format!(
                "page: (page + 1) × size may be at most {MAX_WINDOW}, got page {page} of size {size}; narrow the filters or use an export"
            ));
        }
        if !details.is_empty() {
            return Err(ServiceError::InvalidPage(details));
        }
        Ok(PageSpec {
            page: page.unsigned_abs(),
            size: size.unsigned_abs(),
        })
    }

    /// The index of the page's first row.
    pub fn offset(self) -> u64 {
        self.page.saturating_mul(self.size)
    }

    /// The envelope around a page's `content`, of `total` rows in all.
    pub fn envelope<T>(self, content: Vec<T>, total: u64) -> PageOf<T> {
        PageOf {
            content,
            page: self.page,
            size: self.size,
            total_elements: total,
            total_pages: total.div_ceil(self.size),
        }
    }

    /// The slice of `items` this page covers, and the envelope around it.
    pub fn cut<T>(self, items: Vec<T>) -> PageOf<T> {
        let total = items.len() as u64;
        let content: Vec<T> = items
            .into_iter()
            .skip(usize::try_from(self.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(self.size).unwrap_or(usize::MAX))
            .collect();
        self.envelope(content, total)
    }
}

/// The page envelope: `{content, page, size, totalElements, totalPages}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageOf<T> {
    pub content: Vec<T>,
    pub page: u64,
    pub size: u64,
    pub total_elements: u64,
    pub total_pages: u64,
}

/// One sort order parsed from `"field,direction"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortSpec {
    pub field: String,
    pub descending: bool,
}

/// Parses `sort`: at most [`MAX_SORTS`] entries of `field` or
/// `field,asc|desc` (direction in any case; `asc` when omitted), in
/// priority order. `None` or an empty array is the default order
/// (`createdAt,desc`). Ties are always broken by id.
///
/// # Errors
/// [`ServiceError::InvalidSort`] naming every entry at fault.
pub fn parse_sort(sort: Option<&[String]>) -> Result<Vec<SortSpec>, ServiceError> {
    let invalid = ServiceError::InvalidSort;
    let sort = sort.unwrap_or_default();
    if sort.len() > MAX_SORTS {
        return Err(invalid(vec![format!(
            "sort: at most {MAX_SORTS} sort orders are supported, got {}; ties are always broken by id",
            sort.len()
        )]));
    }
    let mut specs = Vec::with_capacity(sort.len());
    let mut errors = Vec::new();
    for (i, entry) in sort.iter().enumerate() {
        match parse_sort_entry(entry) {
            Ok(spec) => specs.push(spec),
            Err(e) => errors.push(format!("sort[{i}]: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(specs)
    } else {
        Err(invalid(errors))
    }
}

fn parse_sort_entry(entry: &str) -> Result<SortSpec, String> {
    let mut parts = entry.split(',').map(str::trim);
    let field = parts.next().unwrap_or_default();
    let direction = parts.next();
    if field.is_empty() || parts.next().is_some() || field.len() > 255 {
        return Err(format!(
            "expected \"field\" or \"field,asc|desc\", got \"{}\"",
            entry.chars().take(60).collect::<String>()
        ));
    }
    let descending = match direction.map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(format!(
                "direction must be asc or desc, got \"{}\"",
                other.chars().take(20).collect::<String>()
            ))
        }
    };
    Ok(SortSpec {
        field: field.to_string(),
        descending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_zero_based_and_bounded() {
        assert_eq!(
            PageSpec::new(None, None).unwrap(),
            PageSpec { page: 0, size: 20 }
        );
        for (page, size) in [
            (-1, 20),
            (0, 0),
            (0, MAX_SIZE + 1),
            (MAX_PAGE + 1, 1),
            (250, 200),
        ] {
            let e = PageSpec::new(Some(page), Some(size)).unwrap_err();
            assert!(matches!(e, ServiceError::InvalidPage(_)), "{page} {size}");
        }
        // The deepest page allowed ends exactly at MAX_WINDOW.
        assert!(PageSpec::new(Some(249), Some(200)).is_ok());
        assert!(PageSpec::new(Some(2_499), Some(20)).is_ok());
        let e = PageSpec::new(Some(-1), Some(0)).unwrap_err();
        assert_eq!(e.problems().len(), 2);
    }

    #[test]
    fn a_page_cuts_its_slice_and_counts_pages() {
        let p = PageSpec { page: 1, size: 2 }.cut(vec![1, 2, 3, 4, 5]);
        assert_eq!(p.content, [3, 4]);
        assert_eq!((p.total_elements, p.total_pages), (5, 3));
        let past = PageSpec { page: 9, size: 2 }.cut(vec![1, 2, 3]);
        assert!(past.content.is_empty());
        assert_eq!(past.total_pages, 2);
        let empty = PageSpec { page: 0, size: 20 }.cut(Vec::<u8>::new());
        assert_eq!((empty.total_elements, empty.total_pages), (0, 0));
    }

    #[test]
    fn sort_entries_are_field_comma_direction() {
        let s = parse_sort(Some(&["createdAt,DESC".to_string()])).unwrap();
        assert_eq!((s[0].field.as_str(), s[0].descending), ("createdAt", true));
        let s = parse_sort(Some(&["name".to_string()])).unwrap();
        assert!(!s[0].descending);
        assert_eq!(parse_sort(Some(&[])).unwrap(), Vec::new());
        for bad in ["createdAt,up", ",desc", "a,asc,x"] {
            let e = parse_sort(Some(&[bad.to_string()])).unwrap_err();
            assert!(matches!(e, ServiceError::InvalidSort(_)), "{bad}");
        }
        // Several keys are taken in order; a bad one is named by its index.
        let two = ["stage,asc".to_string(), "createdAt,desc".to_string()];
        let s = parse_sort(Some(&two)).unwrap();
        assert_eq!(
            s.iter()
                .map(|s| (s.field.as_str(), s.descending))
                .collect::<Vec<_>>(),
            [("stage", false), ("createdAt", true)]
        );
        let bad = ["stage".to_string(), "createdAt,sideways".to_string()];
        let e = parse_sort(Some(&bad)).unwrap_err();
        assert_eq!(
            e.problems(),
            ["sort[1]: direction must be asc or desc, got \"sideways\""]
        );
        let many = vec!["a".to_string(); MAX_SORTS + 1];
        assert!(matches!(
            parse_sort(Some(&many)).unwrap_err(),
            ServiceError::InvalidSort(_)
        ));
    }
}
