//! The scanning tidy.rs does: source text with its comments and literals blanked out, and
//! in what is left, words, functions, inline modules, `use` items and inline paths.

/// `text` with comments and string, byte-string and char literals turned into spaces (line
/// breaks kept, so that offsets and line numbers stay those of the file).
pub fn strip(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for byte in &mut out[from..to] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    };
    let ident = |i: usize| i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_');
    let mut i = 0;
    while i < b.len() {
        let end = if b[i..].starts_with(b"//") {
            b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |n| i + n)
        } else if b[i..].starts_with(b"/*") {
            block_comment_end(b, i)
        } else if b[i] == b'"' {
            quoted_end(b, i + 1, b'"')
        } else if b[i] == b'r' && (i == 0 || !ident(i - 1) || b[i - 1] == b'b') {
            raw_string_end(b, i + 1).unwrap_or(i)
        } else if b[i] == b'\'' {
            char_literal_end(b, i).unwrap_or(i)
        } else {
            i
        };
        if end > i {
            blank(&mut out, i, end);
            i = end;
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).expect("only ASCII was written over whole literals")
}

/// The end of a (nested) block comment opening at `at`.
pub fn block_comment_end(b: &[u8], at: usize) -> usize {
    let (mut depth, mut i) = (0, at);
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// The end of a literal whose text starts at `from`, closed by `close`, with `\` escapes.
pub fn quoted_end(b: &[u8], from: usize, close: u8) -> usize {
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == close => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// The end of a raw string whose `r` is just before `from` (`r"..."`, `r#"..."#`), if it is one.
pub fn raw_string_end(b: &[u8], from: usize) -> Option<usize> {
    let hashes = b[from..].iter().take_while(|&&c| c == b'#').count();
    if b.get(from + hashes) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = from + hashes + 1;
    let n = b[body..].windows(close.len()).position(|w| w == close)?;
    Some(body + n + close.len())
}

/// The end of a char literal opening at `at` (`'x'`, `'\n'`, `'é'`); None for a lifetime or
/// a label (`'a`, `'outer:`).
pub fn char_literal_end(b: &[u8], at: usize) -> Option<usize> {
    match b.get(at + 1)? {
        b'\\' => Some(quoted_end(b, at + 1, b'\'')),
        &first => {
            let width = match first {
                0x00..=0x7F => 1,
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            (b.get(at + 1 + width) == Some(&b'\'')).then_some(at + 2 + width)
        }
    }
}

/// The line (from 1) of byte `offset`.
pub fn line_at(code: &str, offset: usize) -> usize {
    code.as_bytes()[..offset]
        .iter()
        .filter(|&&c| c == b'\n')
        .count()
        + 1
}

/// The byte just past the brace that closes the one at `open`.
pub fn matching_brace(code: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, &c) in code.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// Where each word (identifier or keyword) of `code` starts, with the word.
pub fn words(code: &str) -> Vec<(usize, &str)> {
    let b = code.as_bytes();
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut words = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if is_word(b[i]) && (i == 0 || !is_word(b[i - 1])) {
            let end = b[i..]
                .iter()
                .position(|&c| !is_word(c))
                .map_or(b.len(), |n| i + n);
            words.push((i, &code[i..end]));
            i = end;
        } else {
            i += 1;
        }
    }
    words
}

/// The next non-blank byte at or after `from`, and where it is.
pub fn next_code(code: &[u8], from: usize) -> Option<(usize, u8)> {
    (from..code.len())
        .find(|&i| !code[i].is_ascii_whitespace())
        .map(|i| (i, code[i]))
}

/// Each function with a body: the line of its `fn`, its name, and its lines from there to its
/// closing brace.
pub fn function_lengths(code: &str) -> Vec<(usize, String, usize)> {
    let b = code.as_bytes();
    let words = words(code);
    let mut found = Vec::new();
    for pair in words.windows(2) {
        let [(at, "fn"), (name_at, name)] = *pair else {
            continue;
        };
        if !code[at + 2..name_at].trim().is_empty() {
            continue;
        }
        // The body is the first `{` outside parentheses and brackets; a `;` first: none.
        let mut depth = 0i32;
        let body = (name_at + name.len()..b.len()).find_map(|i| match b[i] {
            b'(' | b'[' => {
                depth += 1;
                None
            }
            b')' | b']' => {
                depth -= 1;
                None
            }
            b'{' | b';' if depth == 0 => Some((i, b[i])),
            _ => None,
        });
        if let Some((open, b'{')) = body {
            let first = line_at(code, at);
            let last = line_at(code, matching_brace(b, open) - 1);
            found.push((first, name.to_string(), last - first + 1));
        }
    }
    found
}

/// Lines of the file's inline `#[cfg(test)] mod tests { ... }`, from the attribute to the
/// closing brace.
pub fn test_module_lines(code: &str) -> usize {
    const ATTRIBUTE: &str = "#[cfg(test)]";
    for (at, _) in code.match_indices(ATTRIBUTE) {
        let words = words(&code[at + ATTRIBUTE.len()..]);
        let [(_, "mod"), (name_at, "tests"), ..] = words[..] else {
            continue;
        };
        let after_name = at + ATTRIBUTE.len() + name_at + "tests".len();
        if let Some((open, b'{')) = next_code(code.as_bytes(), after_name) {
            let close = matching_brace(code.as_bytes(), open);
            return line_at(code, close - 1) - line_at(code, at) + 1;
        }
    }
    0
}

/// The inline modules of `code` (`mod tests { ... }`): where each starts and ends, and its name.
pub fn inline_modules(code: &str) -> Vec<(usize, usize, String)> {
    let words = words(code);
    let mut found = Vec::new();
    for pair in words.windows(2) {
        let [(_, "mod"), (at, name)] = pair else {
            continue;
        };
        if let Some((open, b'{')) = next_code(code.as_bytes(), at + name.len()) {
            found.push((
                open,
                matching_brace(code.as_bytes(), open),
                name.to_string(),
            ));
        }
    }
    found
}

/// The `use` items of `code`: where each starts, its tree (`crate::{a, b::c}`), and whether it
/// is a `pub` re-export; and `code` with them blanked out, for `inline_paths`.
pub fn use_items(code: &str) -> (Vec<(usize, String, bool)>, String) {
    let mut rest = code.as_bytes().to_vec();
    let mut found = Vec::new();
    for (at, word) in words(code) {
        if word != "use" || next_code(code.as_bytes(), at + 3).is_none_or(|(_, c)| c == b'<') {
            continue;
        }
        let end = code[at..].find(';').map_or(code.len(), |n| at + n);
        let before = code[..at].trim_end();
        let before = match before.strip_suffix(')') {
            Some(scoped) => scoped.rfind('(').map_or(before, |open| &scoped[..open]),
            None => before,
        };
        let reexport = before.ends_with("pub")
            && !before[..before.len() - 3].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        found.push((at, code[at + 3..end].to_string(), reexport));
        rest[at..end].fill(b' ');
    }
    (
        found,
        String::from_utf8(rest).expect("ASCII written over ASCII"),
    )
}

/// Every path a use tree names, segment by segment: `crate::{a, b::{self, c}}` is
/// `crate::a`, `crate::b`, `crate::b::c`. A glob names its module; `as` renames are dropped; a
/// path from outside the crate (`::std::io`) starts with a `::` segment.
pub fn expand_use(tree: &str) -> Vec<Vec<String>> {
    let mut tokens = Vec::new();
    let mut rest = tree.trim();
    while let Some(c) = rest.chars().next() {
        let len = if rest.starts_with("::") {
            2
        } else if "{},*".contains(c) {
            1
        } else if c.is_whitespace() {
            rest = rest.trim_start();
            continue;
        } else {
            rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len())
                .max(1)
        };
        tokens.push(&rest[..len]);
        rest = &rest[len..];
    }
    let mut paths = Vec::new();
    use_tree(&tokens, &mut 0, &[], &mut paths);
    paths
}

/// One tree of a use item from `tokens[*i]`, under `prefix`, into `paths`.
pub fn use_tree(tokens: &[&str], i: &mut usize, prefix: &[String], paths: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    if path.is_empty() && tokens.get(*i) == Some(&"::") {
        path.push("::".into());
    }
    while let Some(&token) = tokens.get(*i) {
        match token {
            "{" => {
                *i += 1;
                while tokens.get(*i).is_some_and(|t| *t != "}") {
                    use_tree(tokens, i, &path, paths);
                    if tokens.get(*i) == Some(&",") {
                        *i += 1;
                    }
                }
                *i += 1;
                return;
            }
            "," | "}" => break,
            // `a as b`: the alias is no segment.
            "as" => *i += 1,
            "::" | "*" => {}
            "self" if !path.is_empty() => {}
            segment => path.push(segment.to_string()),
        }
        *i += 1;
    }
    paths.push(path);
}

/// Paths written in code outside `use` items: each start of a `word::word` chain that is not
/// itself after `::`, with its segments.
pub fn inline_paths(code: &str) -> Vec<(usize, Vec<String>)> {
    let b = code.as_bytes();
    let words = words(code);
    let mut found = Vec::new();
    let mut k = 0;
    while k < words.len() {
        let (at, _) = words[k];
        if code[..at].trim_end().ends_with("::") {
            k += 1;
            continue;
        }
        let mut segments = vec![words[k].1.to_string()];
        let mut end = at + words[k].1.len();
        while k + 1 < words.len() && code[end..words[k + 1].0].trim() == "::" {
            k += 1;
            segments.push(words[k].1.to_string());
            end = words[k].0 + words[k].1.len();
        }
        if segments.len() > 1 && b.get(at.wrapping_sub(1)) != Some(&b'$') {
            found.push((at, segments));
        }
        k += 1;
    }
    found
}
