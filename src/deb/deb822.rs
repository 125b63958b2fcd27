//! A small deb822 parser (the `debian/control` format) that keeps line numbers for errors.

use std::path::Path;

use super::DebError;

/// One `Name: value` field; continuation lines are kept in `value`, joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub line: usize,
}

/// A blank-line separated group of fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Paragraph {
    pub fields: Vec<Field>,
    /// Line of the first field.
    pub line: usize,
}

impl Paragraph {
    /// The field named `name` (case-insensitive, as deb822 field names are).
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The value of the field named `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.field(name).map(|f| f.value.as_str())
    }
}

/// Parses `text` (read from `file`, for messages) into paragraphs.
///
/// Lines starting with `#` are comments, as in `debian/control`. A field name may not be repeated
/// in a paragraph, and a continuation line needs a field before it.
pub fn parse(file: &Path, text: &str) -> Result<Vec<Paragraph>, DebError> {
    let mut paragraphs = Vec::new();
    let mut current = Paragraph::default();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.starts_with('#') {
            continue;
        }
        if raw.trim().is_empty() {
            if !current.fields.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            let Some(last) = current.fields.last_mut() else {
                return Err(DebError::at(
                    file,
                    line,
                    "continuation line outside of a field",
                ));
            };
            last.value.push('\n');
            last.value.push_str(raw.trim_end());
            continue;
        }
        let Some((name, value)) = raw.split_once(':') else {
            return Err(DebError::at(
                file,
                line,
                format!("expected `Field: value`, found `{}`", raw.trim_end()),
            ));
        };
        let valid_name = !name.is_empty()
            && !name.starts_with('-')
            && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !valid_name {
            return Err(DebError::at(
                file,
                line,
                format!("invalid field name `{name}`"),
            ));
        }
        if let Some(previous) = current.field(name) {
            return Err(DebError::at(
                file,
                line,
                format!("duplicate field `{name}` (first on line {})", previous.line),
            ));
        }
        if current.fields.is_empty() {
            current.line = line;
        }
        current.fields.push(Field {
            name: name.to_owned(),
            value: value.trim().to_owned(),
            line,
        });
    }
    if !current.fields.is_empty() {
        paragraphs.push(current);
    }
    Ok(paragraphs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Vec<Paragraph>, DebError> {
        parse(Path::new("control"), text)
    }

    #[test]
    fn paragraphs_fields_and_continuations() {
        let text = "Source: a\n# comment\nMaintainer: M <m@x>\n\n\nPackage: a\nDescription: short\n long\n .\n more\n";
        let ps = p(text).unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].get("source"), Some("a"));
        assert_eq!(ps[0].field("Maintainer").unwrap().line, 3);
        assert_eq!(ps[1].line, 6);
        assert_eq!(ps[1].get("Description"), Some("short\n long\n .\n more"));
    }

    #[test]
    fn errors_name_the_line() {
        let e = p("Source: a\nbogus line\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "control:2: expected `Field: value`, found `bogus line`"
        );
        let e = p(" starts with space\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "control:1: continuation line outside of a field"
        );
        let e = p("A: 1\na: 2\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "control:2: duplicate field `a` (first on line 1)"
        );
    }
}
