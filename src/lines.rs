//! The lines of a text, found with a SIMD search for line breaks (`memchr`). They are what
//! `str::split_inclusive('\n')`, `str::lines()` and `str::split('\n')` give, for the passes
//! over item text that run for every item: those find each break with a general character
//! search that costs several times more per line, and an item is read line by line several
//! times (its front matter, its sections, its planner's scans).

/// Every line of `text` with its `\n` (the last without one when the text does not end
/// with a break): `text.split_inclusive('\n')`.
pub fn with_ends(text: &str) -> WithEnds<'_> {
    WithEnds { rest: text }
}

/// Every line of `text` without its `\n` or `\r\n`: `text.lines()`.
pub fn lines(text: &str) -> Lines<'_> {
    Lines(with_ends(text))
}

/// The pieces of `text` between `\n`s, the last one after the last `\n` (empty when the
/// text ends with one): `text.split('\n')`.
pub fn split(text: &str) -> Split<'_> {
    Split { rest: Some(text) }
}

/// See [`with_ends`].
#[derive(Clone, Debug)]
pub struct WithEnds<'a> {
    rest: &'a str,
}

impl<'a> Iterator for WithEnds<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', self.rest.as_bytes()).map_or(self.rest.len(), |i| i + 1);
        // `\n` is one byte of its own in UTF-8: the split is at a character boundary.
        let (line, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(line)
    }
}

/// See [`lines`].
#[derive(Clone, Debug)]
pub struct Lines<'a>(WithEnds<'a>);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let line = self.0.next()?;
        // As `str::lines`: a `\r` is dropped only before the `\n`.
        Some(match line.strip_suffix('\n') {
            Some(l) => l.strip_suffix('\r').unwrap_or(l),
            None => line,
        })
    }
}

/// See [`split`].
#[derive(Clone, Debug)]
pub struct Split<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(i) => {
                self.rest = Some(&rest[i + 1..]);
                Some(&rest[..i])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Texts with the breaks and near-breaks that matter: `\n`, `\r\n`, a lone `\r`, empty
    /// lines, a missing last break, letters of several bytes, and lines longer than the
    /// search's 32- and 64-byte steps.
    fn texts() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\r".to_string()),
            Just("é".to_string()),
            Just("漢".to_string()),
            "[a-z ]{0,3}",
            "[a-z ]{30,70}",
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn the_lines_are_the_standard_librarys(text in texts()) {
            prop_assert_eq!(with_ends(&text).collect::<Vec<_>>(), text.split_inclusive('\n').collect::<Vec<_>>());
            prop_assert_eq!(lines(&text).collect::<Vec<_>>(), text.lines().collect::<Vec<_>>());
            prop_assert_eq!(split(&text).collect::<Vec<_>>(), text.split('\n').collect::<Vec<_>>());
        }
    }

    #[test]
    fn edge_cases_read_as_the_standard_library_reads_them() {
        for text in [
            "", "\n", "\n\n", "a", "a\n", "a\r", "a\r\n", "\r\n\r\n", "a\n\nb", "\rb\n",
        ] {
            assert_eq!(
                with_ends(text).collect::<Vec<_>>(),
                text.split_inclusive('\n').collect::<Vec<_>>(),
                "{text:?}"
            );
            assert_eq!(
                lines(text).collect::<Vec<_>>(),
                text.lines().collect::<Vec<_>>(),
                "{text:?}"
            );
            assert_eq!(
                split(text).collect::<Vec<_>>(),
                text.split('\n').collect::<Vec<_>>(),
                "{text:?}"
            );
        }
        // A clone goes on from where the original was.
        let mut it = split("a\nb\nc");
        it.next();
        assert_eq!(it.clone().collect::<Vec<_>>(), ["b", "c"]);
    }
}
