//! Relationship fields (`Depends`, `Conflicts`, ...) as dpkg's `Dpkg::Deps` reads and writes
//! them: `,`-separated items of `|` alternatives, each `name[:arch] [(op version)] [arches]
//! [<profiles>]`, and what one relation implies of another (`Dpkg::Deps::Simple::implies`).

use std::fmt;

use super::version::Version;

/// A version operator, as dpkg normalises it (`version_normalize_relation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<<`
    Earlier,
    /// `<=`, and the obsolete `<`
    EarlierOrEqual,
    /// `=`
    Equal,
    /// `>=`, and the obsolete `>`
    LaterOrEqual,
    /// `>>`
    Later,
}

impl Op {
    /// As dpkg writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Earlier => "<<",
            Op::EarlierOrEqual => "<=",
            Op::Equal => "=",
            Op::LaterOrEqual => ">=",
            Op::Later => ">>",
        }
    }
}

/// The operators in the order of `Dpkg::Deps::Simple`'s pattern, which takes the first that fits.
const OPS: [(&str, Op); 7] = [
    ("<<", Op::Earlier),
    ("<=", Op::EarlierOrEqual),
    ("=", Op::Equal),
    (">=", Op::LaterOrEqual),
    (">>", Op::Later),
    ("<", Op::EarlierOrEqual),
    (">", Op::LaterOrEqual),
];

/// One relation: `name[:arch] [(op version)] [arches] [<profiles>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub name: String,
    /// `:any`, `:amd64`, ...
    pub arch_qualifier: Option<String>,
    /// The version as written (dpkg does not check it while parsing).
    pub version: Option<(Op, String)>,
    /// `[amd64 !i386]`, word by word.
    pub arches: Option<Vec<String>>,
    /// `<!nocheck> <pkg.foo>`: alternatives of conjunctions of (possibly negated) profiles.
    pub profiles: Option<Vec<Vec<String>>>,
}

/// One item of a field: its alternatives, a single relation unless written with `|`.
pub type Alternatives = Vec<Relation>;

/// Perl's `\s`, which dpkg's patterns use.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_space(c as u8))
}

/// Parses a field as `Dpkg::Deps::deps_parse` does; `warnings` receives what dpkg warns about
/// (the obsolete `<` and `>`). Empty items are skipped, as are empty trailing alternatives.
pub fn parse(value: &str, warnings: &mut Vec<String>) -> Result<Vec<Alternatives>, String> {
    let mut items = Vec::new();
    for item in value.split(',').map(trim).filter(|i| !i.is_empty()) {
        let mut alternatives: Vec<&str> = item.split('|').map(trim).collect();
        // Perl's split drops trailing empty fields.
        while alternatives.last() == Some(&"") {
            alternatives.pop();
        }
        if alternatives.is_empty() {
            continue;
        }
        let parsed = alternatives
            .iter()
            .map(|alt| Relation::parse(alt, warnings))
            .collect::<Result<Vec<_>, _>>()?;
        items.push(parsed);
    }
    Ok(items)
}

/// Writes a field as `Dpkg::Deps::AND::output` does.
#[must_use]
pub fn format(items: &[Alternatives]) -> String {
    items
        .iter()
        .map(|alts| {
            alts.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A cursor over one relation's text.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.at += 1;
        }
    }

    /// `[a-zA-Z0-9]` then any of `more`; the text taken, or `None` (cursor unmoved).
    fn word(&mut self, more: &[u8]) -> Option<&str> {
        let start = self.at;
        if !self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        self.at += 1;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || more.contains(&c))
        {
            self.at += 1;
        }
        Some(&self.text[start..self.at])
    }

    /// The text up to the next `close` (at least one byte), the cursor after `close`.
    fn until(&mut self, close: u8) -> Option<&str> {
        let rest = &self.text[self.at..];
        let end = rest.bytes().position(|c| c == close).filter(|&e| e > 0)?;
        self.at += end + 1;
        Some(&rest[..end])
    }
}

impl Relation {
    /// Parses one relation as `Dpkg::Deps::Simple::parse_string` does.
    fn parse(text: &str, warnings: &mut Vec<String>) -> Result<Self, String> {
        let bad = || format!("cannot parse the relation `{text}`");
        let mut c = Cursor { text, at: 0 };
        c.skip_space();
        let name = c.word(b"+.-").ok_or_else(bad)?.to_owned();
        let mut arch_qualifier = None;
        if c.peek() == Some(b':') {
            c.at += 1;
            let qualifier = c.word(b"-").ok_or_else(bad)?;
            // `:native` is for build dependencies only.
            if qualifier == "native" {
                return Err(bad());
            }
            arch_qualifier = Some(qualifier.to_owned());
        }
        let mut version = None;
        c.skip_space();
        if c.peek() == Some(b'(') {
            c.at += 1;
            c.skip_space();
            let rest = &text[c.at..];
            let (written, op, clause) = OPS
                .iter()
                .find_map(|&(written, op)| {
                    let clause = version_clause(rest.strip_prefix(written)?)?;
                    Some((written, op, clause))
                })
                .ok_or_else(bad)?;
            if written.len() == 1 && written != "=" {
                warnings.push(format!(
                    "relation {written} is deprecated: use {written}{written} or {written}="
                ));
            }
            version = Some((op, clause.0.to_owned()));
            c.at += written.len() + clause.1;
        }
        let mut arches = None;
        c.skip_space();
        if c.peek() == Some(b'[') {
            c.at += 1;
            let list = c.until(b']').ok_or_else(bad)?;
            let words: Vec<String> = list.split_ascii_whitespace().map(str::to_owned).collect();
            if let Some(illegal) = words.iter().find(|w| !legal_arch(w)) {
                return Err(format!(
                    "`{illegal}` is not a legal architecture in list `{list}`"
                ));
            }
            arches = Some(words);
        }
        let mut profiles = None;
        let start = c.at;
        loop {
            c.skip_space();
            if c.peek() != Some(b'<') {
                break;
            }
            c.at += 1;
            c.until(b'>').ok_or_else(bad)?;
            profiles = Some(parse_profiles(&text[start..c.at]));
        }
        c.skip_space();
        if c.at != text.len() {
            return Err(bad());
        }
        Ok(Self {
            name,
            arch_qualifier,
            version,
            arches,
            profiles,
        })
    }

    /// Whether `self` being satisfied means `other` is (`Some(true)`), is not (`Some(false)`), or
    /// neither is known (`None`): `Dpkg::Deps::Simple::implies` for two simple relations.
    #[must_use]
    pub fn implies(&self, other: &Relation) -> Option<bool> {
        if self.name != other.name
            || !arch_superset(self.arches.as_deref(), other.arches.as_deref())
            || self.arch_qualifier != other.arch_qualifier
            || !restrictions_imply(self.profiles.as_deref(), other.profiles.as_deref())
        {
            return None;
        }
        let Some((q_op, q_version)) = &other.version else {
            return Some(true);
        };
        let (p_op, p_version) = self.version.as_ref()?;
        let p = Version::parse(p_version).ok()?;
        let q = Version::parse(q_version).ok()?;
        eval_implication(*p_op, &p, *q_op, &q)
    }
}

/// `\s*([^)\s]+)\s*\)` at the start of `rest`: the version and the length taken.
fn version_clause(rest: &str) -> Option<(&str, usize)> {
    let b = rest.as_bytes();
    let mut i = b.iter().take_while(|&&c| is_space(c)).count();
    let start = i;
    while b.get(i).is_some_and(|&c| c != b')' && !is_space(c)) {
        i += 1;
    }
    let version = &rest[start..i];
    i += b[i..].iter().take_while(|&&c| is_space(c)).count();
    (!version.is_empty() && b.get(i) == Some(&b')')).then_some((version, i + 1))
}

/// `Dpkg::Arch::debarch_is_illegal`: `!?[a-zA-Z0-9][a-zA-Z0-9-]*`.
fn legal_arch(word: &str) -> bool {
    let w = word.strip_prefix('!').unwrap_or(word).as_bytes();
    w.first().is_some_and(u8::is_ascii_alphanumeric)
        && w.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
}

/// `Dpkg::BuildProfiles::parse_build_profiles` of the text `<a b> <c>`: the outer brackets
/// dropped, split at `>` + space + `<`, each part split into words.
fn parse_profiles(text: &str) -> Vec<Vec<String>> {
    let t = trim(text);
    let inner = trim(&t[1..t.len() - 1]);
    let mut lists = Vec::new();
    let mut rest = inner;
    loop {
        let split = rest.match_indices('>').find_map(|(i, _)| {
            let after = &rest[i + 1..];
            let spaces = after.bytes().take_while(|&c| is_space(c)).count();
            (spaces > 0 && after[spaces..].starts_with('<')).then_some((i, i + 1 + spaces + 1))
        });
        let (piece, next) = match split {
            Some((end, next)) => (&rest[..end], Some(next)),
            None => (rest, None),
        };
        lists.push(
            piece
                .split_ascii_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        );
        match next {
            Some(n) => rest = &rest[n..],
            None => break,
        }
    }
    // Perl's split drops trailing empty fields.
    while lists.last().is_some_and(Vec::is_empty) {
        lists.pop();
    }
    lists
}

/// `_arch_is_superset` as dpkg runs it: a relation without arches covers any list, one with
/// arches covers only lists that contain each of its words. (dpkg's code means to reason about
/// negations, but an operator-precedence slip makes both lists count as negated whenever both
/// are present, which is this rule.)
fn arch_superset(p: Option<&[String]>, q: Option<&[String]>) -> bool {
    match (p, q) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(p), Some(q)) => p.iter().all(|a| q.contains(a)),
    }
}

/// `_restrictions_imply`: every conjunction of `q` (as a set) appears in `p`.
fn restrictions_imply(p: Option<&[Vec<String>]>, q: Option<&[Vec<String>]>) -> bool {
    let key = |list: &Vec<String>| {
        let mut words = list.clone();
        words.sort();
        words.join(" ")
    };
    match (p, q) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(p), Some(q)) => {
            let have: Vec<String> = p.iter().map(key).collect();
            q.iter().all(|l| have.contains(&key(l)))
        }
    }
}

/// `Dpkg::Deps::deps_eval_implication`, branch for branch.
// One arm per branch of dpkg's code, in its order, to be read beside it; merged arms would not.
#[allow(clippy::match_same_arms)]
fn eval_implication(p_op: Op, p: &Version, q_op: Op, q: &Version) -> Option<bool> {
    use Op::{Earlier, EarlierOrEqual, Equal, Later, LaterOrEqual};
    let excludes = |cond: bool| cond.then_some(false);
    let includes = |cond: bool| cond.then_some(true);
    match (q_op, p_op) {
        (Equal, Earlier) => excludes(p <= q),
        (Equal, EarlierOrEqual) => excludes(p < q),
        (Equal, Later) => excludes(p >= q),
        (Equal, LaterOrEqual) => excludes(p > q),
        (Equal, Equal) => Some(p == q),
        (EarlierOrEqual, Later) => excludes(p >= q),
        (EarlierOrEqual, LaterOrEqual) => excludes(p > q),
        (EarlierOrEqual, Equal) => Some(p <= q),
        (EarlierOrEqual, Earlier | EarlierOrEqual) => includes(p <= q),
        // dpkg compares p's version with itself here, so `>= x` or `>> x` always "excludes"
        // `<< y`; kept, as it changes what an earlier field's list answers (see `simplify::and_implies`).
        (Earlier, Later | LaterOrEqual) => Some(false),
        (Earlier, Earlier) => includes(p <= q),
        (Earlier, Equal) => Some(p < q),
        (Earlier, EarlierOrEqual) => includes(p < q),
        (LaterOrEqual, Earlier) => excludes(p <= q),
        (LaterOrEqual, EarlierOrEqual) => excludes(p < q),
        (LaterOrEqual, Equal) => Some(p >= q),
        (LaterOrEqual, Later | LaterOrEqual) => includes(p >= q),
        (Later, Earlier | EarlierOrEqual) => excludes(p <= q),
        (Later, Later) => includes(p >= q),
        (Later, Equal) => Some(p > q),
        (Later, LaterOrEqual) => includes(p > q),
    }
}

impl fmt::Display for Relation {
    /// `Dpkg::Deps::Simple::output`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(q) = &self.arch_qualifier {
            write!(f, ":{q}")?;
        }
        if let Some((op, v)) = &self.version {
            write!(f, " ({} {v})", op.as_str())?;
        }
        if let Some(arches) = &self.arches {
            write!(f, " [{}]", arches.join(" "))?;
        }
        for list in self.profiles.iter().flatten() {
            write!(f, " <{}>", list.join(" "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Relation {
        let mut items = parse(text, &mut Vec::new()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(items.len(), 1, "{text}");
        assert_eq!(items[0].len(), 1, "{text}");
        items.remove(0).remove(0)
    }

    #[test]
    fn reads_every_part_and_writes_it_as_dpkg() {
        let r = one(" libfoo1:amd64(>=1:2.0-1)[amd64 !i386]<!nocheck> <pkg.a.b  x>");
        assert_eq!(r.name, "libfoo1");
        assert_eq!(r.arch_qualifier.as_deref(), Some("amd64"));
        assert_eq!(r.version, Some((Op::LaterOrEqual, "1:2.0-1".into())));
        assert_eq!(r.arches, Some(vec!["amd64".into(), "!i386".into()]));
        assert_eq!(
            r.profiles,
            Some(vec![
                vec!["!nocheck".to_owned()],
                vec!["pkg.a.b".into(), "x".into()]
            ])
        );
        assert_eq!(
            r.to_string(),
            "libfoo1:amd64 (>= 1:2.0-1) [amd64 !i386] <!nocheck> <pkg.a.b x>"
        );
    }

    #[test]
    fn field_layout() {
        let mut w = Vec::new();
        let items = parse("a,\n  b|c ( = 1 ) ,, d |, | ,e (<1)", &mut w).unwrap();
        assert_eq!(format(&items), "a, b | c (= 1), d, e (<= 1)");
        assert_eq!(w, ["relation < is deprecated: use << or <="]);
        assert_eq!(format(&parse(" , ", &mut w).unwrap()), "");
    }

    #[test]
    fn written_as_read() {
        for field in [
            "a (<<)",
            "a <x><y>",
            "a <b<c>",
            "a:any (= 1) [!i386 amd64] <!nocheck>, b | c (>> 1:0~)",
        ] {
            let mut w = Vec::new();
            let items = parse(field, &mut w).unwrap();
            assert_eq!(parse(&format(&items), &mut w), Ok(items), "{field}");
        }
    }

    #[test]
    fn the_first_operator_that_fits() {
        assert_eq!(
            one("a (<<)").version,
            Some((Op::EarlierOrEqual, "<".into()))
        );
        assert_eq!(one("a (>>1)").version, Some((Op::Later, "1".into())));
        assert_eq!(one("a (>1)").version, Some((Op::LaterOrEqual, "1".into())));
    }

    #[test]
    fn refuses_what_dpkg_refuses() {
        for bad in [
            "a (1.0)",
            "a (>= 1",
            "a:native",
            "a: b",
            "-a",
            "a b",
            "a | | b",
            "| a",
            "a []",
            "a <>",
            "a [amd64] (>= 1)",
            "a (>= 1 2)",
        ] {
            assert!(parse(bad, &mut Vec::new()).is_err(), "{bad}");
        }
        assert_eq!(
            parse("a [amd_64]", &mut Vec::new()).unwrap_err(),
            "`amd_64` is not a legal architecture in list `amd_64`"
        );
    }

    #[test]
    fn implication() {
        let imp = |p: &str, q: &str| one(p).implies(&one(q));
        assert_eq!(imp("a (>= 2)", "a"), Some(true));
        assert_eq!(imp("a", "a (>= 2)"), None);
        assert_eq!(imp("a (>= 2)", "a (>= 1)"), Some(true));
        assert_eq!(imp("a (>= 1)", "a (>= 2)"), None);
        assert_eq!(imp("a (= 1)", "a (>= 1)"), Some(true));
        assert_eq!(imp("a (= 1)", "a (= 2)"), Some(false));
        assert_eq!(imp("a (<< 1)", "a (<= 1)"), Some(true));
        assert_eq!(imp("a (>> 1)", "a (<= 1)"), Some(false));
        assert_eq!(imp("a (>= 5)", "a (<< 9)"), Some(false), "dpkg's slip");
        assert_eq!(imp("a (>= 1.0~rc1)", "a (>= 1.0)"), None);
        assert_eq!(imp("a (>= x)", "a (>= 1)"), None, "invalid version");
        assert_eq!(imp("a (>= x)", "a"), Some(true));
        assert_eq!(imp("a:any", "a"), None);
        assert_eq!(imp("a", "b"), None);
        assert_eq!(imp("a", "a [amd64]"), Some(true));
        assert_eq!(imp("a [amd64]", "a"), None);
        assert_eq!(
            imp("a [amd64]", "a [amd64 i386]"),
            Some(true),
            "dpkg's slip"
        );
        assert_eq!(imp("a <!x> <y>", "a <!x>"), Some(true), "dpkg's rule");
        assert_eq!(imp("a <!x>", "a <!x> <y>"), None);
        assert_eq!(imp("a <y>", "a <!x>"), None);
    }
}
