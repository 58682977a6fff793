//! The source's shape, checked from its text: no file of `src/` over [`MAX_FILE_LINES`] lines
//! of code (test modules and the rating kernels, `src/rating/bt/`, aside) and no function over
//! [`MAX_FN_LINES`] lines (test code aside). A file or function that outgrows them is split
//! by job, not exempted.
//!
//! The text is read by a small lexer that blanks comments, strings (raw ones too) and
//! character literals, so braces inside them do not count; lifetimes are told apart from
//! character literals.

use std::path::Path;

use crate::layering::rust_files;

const MAX_FILE_LINES: usize = 700;
const MAX_FN_LINES: usize = 120;

/// Folders whose files may be longer: the rating kernels, whose numerical loops stay
/// together where splitting them would hide the order of their floating-point operations.
const KERNELS: &[&str] = &["rating/bt/"];

/// `text` with every comment, string and character literal replaced by spaces (line ends
/// kept), so that what is left is code.
fn blank(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let keep = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < c.len() {
        let at = |k: usize| c.get(i + k).copied().unwrap_or('\0');
        if at(0) == '/' && at(1) == '/' {
            while i < c.len() && c[i] != '\n' {
                keep(&mut out, c[i]);
                i += 1;
            }
        } else if at(0) == '/' && at(1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    keep(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if (at(0) == 'r' || (at(0) == 'b' && at(1) == 'r'))
            && !c
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
            && {
                let s = if at(0) == 'b' { 2 } else { 1 };
                let hashes = (s..).take_while(|&k| at(k) == '#').count();
                at(s + hashes) == '"'
            }
        {
            let s = if at(0) == 'b' { 2 } else { 1 };
            let hashes = (s..).take_while(|&k| at(k) == '#').count();
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let body_start = i + s + hashes + 1;
            let rest: String = c[body_start..].iter().collect();
            let len = rest.find(&close).map_or(rest.len(), |end| {
                rest[..end].chars().count() + close.chars().count()
            });
            for &ch in &c[i..(body_start + len).min(c.len())] {
                keep(&mut out, ch);
            }
            i = body_start + len;
        } else if at(0) == '"' {
            keep(&mut out, '"');
            i += 1;
            while i < c.len() && c[i] != '"' {
                let step = if c[i] == '\\' { 2 } else { 1 };
                for &ch in &c[i..(i + step).min(c.len())] {
                    keep(&mut out, ch);
                }
                i += step;
            }
            keep(&mut out, '"');
            i += 1;
        } else if at(0) == '\'' && (at(1) == '\\' || at(2) == '\'') {
            // A character literal ('x', '\n', '\u{1F600}'); a lifetime has no closing quote.
            let end = (i + 2..c.len())
                .find(|&k| c[k] == '\'')
                .unwrap_or(c.len() - 1);
            for _ in i..=end {
                out.push(' ');
            }
            i = end + 1;
        } else {
            out.push(at(0));
            i += 1;
        }
    }
    out
}

/// The lines of blanked code outside test modules (`#[cfg(test)] mod …` at the top level,
/// declared or inline), each with its number in the file.
fn code_lines(code: &str) -> Vec<(usize, &str)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    let mut n = 0;
    while n < lines.len() {
        if lines[n].trim_end() == "#[cfg(test)]"
            && let Some(next) = lines.get(n + 1)
            && next.starts_with("mod ")
        {
            if next.trim_end().ends_with(';') {
                n += 2;
                continue;
            }
            let mut depth = 0i64;
            let mut k = n + 1;
            while k < lines.len() {
                depth += brace_balance(lines[k]);
                k += 1;
                if depth <= 0 && lines[k - 1].contains('}') {
                    break;
                }
            }
            n = k;
            continue;
        }
        out.push((n + 1, lines[n]));
        n += 1;
    }
    out
}

fn brace_balance(line: &str) -> i64 {
    line.chars()
        .map(|ch| match ch {
            '{' => 1,
            '}' => -1,
            _ => 0,
        })
        .sum()
}

/// Where `fn name` starts a function on this line of code, if it does.
fn fn_name(line: &str) -> Option<String> {
    let words: Vec<&str> = line
        .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let at = words.iter().position(|w| *w == "fn")?;
    words.get(at + 1).map(|w| (*w).to_owned())
}

/// Every function with a body: (name, first line, its length in lines).
fn functions(lines: &[(usize, &str)]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for (i, (first, line)) in lines.iter().enumerate() {
        let Some(name) = fn_name(line) else {
            continue;
        };
        // The body opens at the first `{` after the signature; a `;` first means none.
        let mut depth = 0i64;
        let mut opened = false;
        'scan: for (number, text) in &lines[i..] {
            let from = if number == first {
                line.find("fn").unwrap_or(0)
            } else {
                0
            };
            for ch in text[from..].chars() {
                match ch {
                    ';' if !opened => break 'scan,
                    '{' => {
                        opened = true;
                        depth += 1;
                    }
                    '}' if opened => {
                        depth -= 1;
                        if depth == 0 {
                            out.push((name.clone(), *first, number - first + 1));
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

struct Shape {
    files: Vec<(String, usize)>,
    fns: Vec<(String, usize)>,
}

/// The files and functions of `src/` over their limits.
fn oversized(src: &Path) -> Shape {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut shape = Shape {
        files: Vec::new(),
        fns: Vec::new(),
    };
    for file in files {
        let rel = file
            .strip_prefix(src)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        if rel.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a source file is readable");
        let code = blank(&text);
        let lines = code_lines(&code);
        let kernel = KERNELS.iter().any(|k| rel.starts_with(k));
        if !kernel && lines.len() > MAX_FILE_LINES {
            shape.files.push((rel.clone(), lines.len()));
        }
        for (name, first, len) in functions(&lines) {
            if len > MAX_FN_LINES {
                shape.fns.push((format!("{rel}:{first} {name}"), len));
            }
        }
    }
    shape
}

#[test]
fn no_file_or_function_outgrows_its_limit() {
    let shape = oversized(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut found: Vec<String> = shape
        .files
        .iter()
        .map(|(f, n)| format!("{f}: {n} lines (at most {MAX_FILE_LINES}): split it by job"))
        .collect();
    found.extend(
        shape.fns.iter().map(|(f, n)| {
            format!("{f}: a function of {n} lines (at most {MAX_FN_LINES}): split it")
        }),
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_lexer_sees_code_only() {
    let text = concat!(
        "fn a<'x>(s: &'x str) -> char {\n",
        "    let _ = \"}}\\\"{\"; // }\n",
        "    let _ = r#\"{\"}\"#; /* { /* } */ */\n",
        "    '{'\n",
        "}\n",
    );
    let code = blank(text);
    let lines: Vec<(usize, &str)> = code.lines().enumerate().map(|(n, l)| (n + 1, l)).collect();
    assert_eq!(functions(&lines), [("a".to_owned(), 1, 5)]);
    assert_eq!(code.lines().count(), 5);
}

#[test]
fn test_modules_and_bodiless_functions_are_left_out() {
    let text = "trait T {\n    fn f(&self);\n}\nfn g() {\n}\n#[cfg(test)]\nmod tests {\n    fn h() {\n        let _ = 1;\n    }\n}\n";
    let code = blank(text);
    let lines = code_lines(&code);
    assert_eq!(lines.len(), 5);
    assert_eq!(functions(&lines), [("g".to_owned(), 4, 2)]);
}
