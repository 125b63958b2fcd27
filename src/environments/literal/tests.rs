//! Unit tests for the parser as a whole: positions, statement forms and the sign rules.

use super::parse_module;
use crate::environments::value::{Kind, Pos};

fn value(src: &str) -> Kind {
    let module = parse_module(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    module
        .assignments
        .last()
        .expect("an assignment")
        .value
        .kind
        .clone()
}

fn error(src: &str) -> String {
    match parse_module(src) {
        Ok(m) => panic!("{src:?} parsed: {m:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn positions_count_characters_not_bytes() {
    let m = parse_module("é = 1\nx = {'ü': [1]}\n").unwrap();
    assert_eq!(m.assignments[0].pos, Pos { line: 1, col: 1 });
    let dict = &m.assignments[1].value;
    assert_eq!(dict.pos, Pos { line: 2, col: 5 });
    let (k, v) = &dict.as_dict().unwrap()[0];
    assert_eq!(k.pos, Pos { line: 2, col: 6 });
    assert_eq!(v.pos, Pos { line: 2, col: 11 });
    assert_eq!(error("é = 'ü' + x"), "1:9: `+` expression is not a literal (only a complex number like `1+2j` may use `+` or `-`)");
}

#[test]
fn chained_assignment_gives_every_name_the_value() {
    let m = parse_module("a = b = [1]\n").unwrap();
    let names: Vec<_> = m.assignments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(m.assignments[1].pos, Pos { line: 1, col: 5 });
    assert_eq!(m.get("a").unwrap().value, m.get("b").unwrap().value);
}

#[test]
fn set_call_and_tuples() {
    assert_eq!(value("x = set()"), Kind::Set(vec![]));
    assert_eq!(value("x = ()"), Kind::Tuple(vec![]));
    assert!(matches!(value("x = set(), 1"), Kind::Tuple(v) if v.len() == 2));
    assert!(matches!(value("x = (1)"), Kind::Int(1)));
}

#[test]
fn signs_and_complex_numbers_follow_literal_eval() {
    assert_eq!(
        value("x = -170141183460469231731687303715884105728"),
        Kind::Int(i128::MIN)
    );
    assert_eq!(value("x = -(1)"), Kind::Int(-1));
    let Kind::Complex(re, im) = value("x = -0j") else {
        panic!()
    };
    assert!(re.is_sign_negative() && im.is_sign_negative());
    assert_eq!(value("x = (1)+(2j)"), Kind::Complex(1.0, 2.0));
    assert_eq!(value("x = -1.5-2j"), Kind::Complex(-1.5, -2.0));
    assert!(error("x = 1+-2j").starts_with("1:6: `+` expression"));
    assert!(error("x = -(1+2j)").contains("unary `-` on a complex"));
    assert!(error("x = 1j+2j").contains("`+` expression"));
}

#[test]
fn statements_end_at_newlines_and_semicolons() {
    assert_eq!(
        parse_module("a = 1; b = 2;\n\n;").unwrap_err().pos,
        Pos { line: 3, col: 1 }
    );
    assert!(error("a = 1 b = 2").contains("unexpected name `b`"));
    assert_eq!(parse_module("").unwrap().assignments.len(), 0);
    assert_eq!(parse_module("x = 1").unwrap().assignments.len(), 1);
}

#[test]
fn nesting_is_capped() {
    let ok = format!("x = {}{}", "[".repeat(200), "]".repeat(200));
    assert!(parse_module(&ok).is_ok());
    let deep = format!("x = {}{}", "[".repeat(201), "]".repeat(201));
    assert!(error(&deep).contains("too many nested brackets"));
    // Regression guard: a long run of signs must not recurse.
    assert!(error(&format!("x = {}1", "-".repeat(100_000))).contains("repeated unary"));
}

#[test]
fn tokenizer_errors_later_in_the_file_win() {
    // Python tokenizes everything before it judges a value.
    assert_eq!(
        error("x = y\nz = 'open\n"),
        "2:5: unterminated string literal"
    );
    assert_eq!(
        error("def f():\n    return os\n"),
        "1:1: function definition `def` is not a literal assignment"
    );
}

#[test]
fn hints_come_with_non_literals_only() {
    let e = parse_module("import os").unwrap_err();
    assert!(e.hint.unwrap().contains("--python"));
    assert!(parse_module("x = 'a").unwrap_err().hint.is_none());
}

#[test]
fn crlf_and_bom() {
    assert_eq!(
        value("\u{feff}x = '''a\r\nb'''\r\n"),
        Kind::Str("a\nb".into())
    );
    assert_eq!(
        parse_module("x = 1\r\ny = z\r\n").unwrap_err().pos,
        Pos { line: 2, col: 5 }
    );
}

#[test]
fn rendered_source_round_trips_signed_zeros() {
    // Regression: the roundtrip fuzzer found `-0.0-0j` rendered as `-0.0+0.0j`, which
    // Python reads as `0j`, losing the sign of the real part.
    let src = "a = -0.0-0j\nb = -0j\nc = 0-0j\nd = -1e999-1e999j\ne = 1.5-2j\nf = 0.0j\n";
    for a in parse_module(src).unwrap().assignments {
        let rendered = format!("x = {}", a.value.to_python_source());
        let again = parse_module(&rendered).unwrap();
        assert_eq!(
            a.value.to_tagged_json(),
            again.assignments[0].value.to_tagged_json(),
            "{} rendered as {rendered}",
            a.name
        );
    }
}
