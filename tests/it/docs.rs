//! The README documents what the code has: every built-in task of the registry with its arguments
//! and an example, and every environments key the code reads (the known keys, and every key read
//! through `env.str`, `env.bool`, `env.str_list`, `env.vars.get` and the helpers over them in
//! `src/`); and its key table holds nothing the code ignores.

use std::collections::BTreeSet;
use std::path::Path;

use dfab::environments::keys::KEYS;
use dfab::tasks::registry::BUILTINS;

use crate::support::{project, Dfab};

fn readme() -> String {
    fs_err::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The text under the heading line `heading`, up to the next heading of any level.
#[track_caller]
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no `{heading}` section"))
        + heading.len()
        + 2;
    let rest = &text[start..];
    let end = rest.find("\n#").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

/// The rows of the tables in `text` whose first cell is code (`` `name` ``), as cells.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            l.trim_start_matches("| ")
                .trim_end_matches(" |")
                .split(" | ")
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

fn code_name(cell: &str) -> &str {
    cell.trim_matches('`')
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<String>) {
    for entry in fs_err::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(fs_err::read_to_string(&path).unwrap());
        }
    }
}

/// The string literal that starts right after each `needle` in `text`, when it is a key name.
fn literals_after<'a>(text: &'a str, needle: &str) -> Vec<(usize, &'a str)> {
    text.match_indices(needle)
        .filter_map(|(i, _)| {
            let rest = &text[i + needle.len()..];
            let name = &rest[..rest.find('"')?];
            let key = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            key.then_some((i, name))
        })
        .collect()
}

/// The keys `src/` reads from an env, found in its text.
fn keys_read_in_source() -> BTreeSet<String> {
    let mut texts = Vec::new();
    sources(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut texts,
    );
    let mut keys = BTreeSet::new();
    for text in &texts {
        for needle in [
            ".str(\"",
            ".bool(\"",
            ".str_list(\"",
            "plain_or(env, \"",
            "setting(env, \"",
        ] {
            keys.extend(
                literals_after(text, needle)
                    .into_iter()
                    .map(|(_, k)| k.to_owned()),
            );
        }
        // `env.vars.get("k")`, also with the `.get` on the next line.
        for (i, k) in literals_after(text, ".get(\"") {
            if text[..i].trim_end().ends_with("vars") {
                keys.insert(k.to_owned());
            }
        }
    }
    keys
}

// Each built-in has a row in the README's task table, naming each of its arguments (`name=`) and
// giving an example command; the table names no task the registry lacks.
#[test]
fn readme_documents_every_builtin_task_with_its_arguments_and_an_example() {
    let readme = readme();
    let table = rows(section(&readme, "## Tasks"));
    let mut problems = Vec::new();
    for b in BUILTINS {
        let Some(row) = table.iter().find(|r| code_name(&r[0]) == b.name) else {
            problems.push(format!("`{}` has no row", b.name));
            continue;
        };
        if row.len() != 4 {
            problems.push(format!("`{}`: expected 4 cells, got {row:?}", b.name));
            continue;
        }
        for a in b.args {
            if !row[1].contains(&format!("`{}=", a.name)) {
                problems.push(format!("`{}`: argument `{}=` undocumented", b.name, a.name));
            }
        }
        if !row[3].contains("dfab ") || !row[3].contains(b.name) {
            problems.push(format!("`{}`: no example command", b.name));
        }
    }
    for row in &table {
        let name = code_name(&row[0]);
        if !BUILTINS.iter().any(|b| b.name == name) {
            problems.push(format!("`{name}` is documented but is not a built-in"));
        }
    }
    assert!(
        problems.is_empty(),
        "README.md's task table (## Tasks):\n{}",
        problems.join("\n")
    );
}

// Every key dfab knows or reads has a row in the configuration reference with its type, default
// and the tasks that read it; every row there is a key the code reads.
#[test]
fn readme_key_table_matches_the_keys_the_code_reads() {
    let readme = readme();
    let table = rows(section(&readme, "### Configuration reference"));
    let documented: BTreeSet<String> = table.iter().map(|r| code_name(&r[0]).to_owned()).collect();
    let read = keys_read_in_source();
    // The scan sees what the code reads: a few keys every env run reads.
    for k in ["hosts", "lxc", "debconf", "db_clone_from", "health_url"] {
        assert!(read.contains(k), "the source scan missed `{k}`: {read:?}");
    }
    let code: BTreeSet<String> = KEYS
        .iter()
        .map(|(k, _, _)| (*k).to_owned())
        .chain(read)
        .collect();
    let missing: Vec<_> = code.difference(&documented).collect();
    let ignored: Vec<_> = documented.difference(&code).collect();
    assert!(
        missing.is_empty(),
        "keys the code reads that README.md's configuration reference lacks: {missing:?}"
    );
    assert!(
        ignored.is_empty(),
        "keys README.md documents that no code reads: {ignored:?}"
    );
    for row in &table {
        assert!(
            row.len() == 5 && row[1..4].iter().all(|c| !c.trim().is_empty()),
            "a key row is `| key | type | default | read by | meaning |`: {row:?}"
        );
    }
}

// `collectstatic` is documented as read only to warn: dfab says it does not run it.
#[test]
fn collectstatic_true_warns_that_dfab_does_not_run_it() {
    let dir = project(&[(
        "environments.py",
        "environments = {'prod': {'hosts': ['app.example.com'], 'collectstatic': True}}\n",
    )]);
    Dfab::new(dir.path())
        .args(["-n", "prod", "noop"])
        .stderr_is(
            "warning: `collectstatic` is True, but dfab does not run Django's collectstatic: run \
             it in the package's postinst (as fixtures/djdemo does)\n",
        )
        .run_checked();
    let dir = project(&[(
        "environments.py",
        "environments = {'prod': {'hosts': ['app.example.com'], 'collectstatic': False}}\n",
    )]);
    Dfab::new(dir.path())
        .args(["-n", "prod", "noop"])
        .stderr_is("")
        .run_checked();
}

/// A message string broken over lines without a `\` continuation keeps the next line's
/// indentation inside it ("…this deploy;                  `web_mode:live`…"). No string literal
/// of `src/` holds a run of eight or more spaces between words; a table or a format that needs
/// one is listed here with its reason.
#[test]
fn no_message_holds_a_broken_line_continuation() {
    // ar(5)'s fixed-width header fields; an Apache snippet's indentation after `\n`.
    let allowed = ["b\"4         `\\n\""];
    let mut bad = Vec::new();
    for entry in glob::glob(concat!(env!("CARGO_MANIFEST_DIR"), "/src/**/*.rs")).unwrap() {
        let path = entry.unwrap();
        let text = fs_err::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//")
                || !code.contains('"')
                || allowed.iter().any(|a| line.contains(a))
            {
                continue;
            }
            let b = line.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b' ' && i > 0 && b[i - 1] != b' ' && b[i - 1] != b'n' {
                    let run = b[i..].iter().take_while(|&&c| c == b' ').count();
                    let inside = line[..i].trim_start().matches('"').count() % 2 == 1;
                    if run >= 8 && i + run < b.len() && inside {
                        bad.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                    i += run;
                } else {
                    i += 1;
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "string literals with a broken continuation:\n{}",
        bad.join("\n")
    );
}
