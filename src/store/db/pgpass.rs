//! The password libpq would use when the connection string has none: `PGPASSWORD`, else the
//! first matching line of the password file (`PGPASSFILE`, else `~/.pgpass`), which, as libpq
//! insists, is ignored unless only its owner can read it.

use std::path::{Path, PathBuf};

/// What a password file line is matched against.
pub struct Wanted<'a> {
    /// Host name, or `localhost` for a Unix socket.
    pub host: &'a str,
    pub port: u16,
    pub database: &'a str,
    pub user: &'a str,
}

/// The password for `wanted`, if the environment or the password file has one.
pub fn password(wanted: &Wanted) -> Option<String> {
    if let Some(password) = std::env::var_os("PGPASSWORD") {
        return Some(password.to_string_lossy().into_owned());
    }
    let file = password_file()?;
    if !is_private(&file) {
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    find(&text, wanted)
}

fn password_file() -> Option<PathBuf> {
    if let Some(file) = std::env::var_os("PGPASSFILE") {
        return Some(PathBuf::from(file));
    }
    Some(PathBuf::from(std::env::var_os("HOME")?).join(".pgpass"))
}

fn is_private(file: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(file).is_ok_and(|m| m.permissions().mode() & 0o077 == 0)
    }
    #[cfg(not(unix))]
    {
        file.exists()
    }
}

/// The password of the first line matching `wanted` (`*` matches anything).
fn find(text: &str, wanted: &Wanted) -> Option<String> {
    let port = wanted.port.to_string();
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(fields)
        .find(|f| {
            let matches = |field: &str, value: &str| field == "*" || field == value;
            matches(&f[0], wanted.host)
                && matches(&f[1], &port)
                && matches(&f[2], wanted.database)
                && matches(&f[3], wanted.user)
        })
        .map(|mut f| f.swap_remove(4))
}

/// The five `:`-separated fields of a line (`\:` and `\\` escaped), or None.
fn fields(line: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut()?.push(chars.next().unwrap_or('\\')),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut()?.push(c),
        }
    }
    (fields.len() == 5).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_line_wins_with_wildcards_and_escapes() {
        let text = "# comment\n\
                    db.example:5432:other:alice:wrong\n\
                    db.example:*:pulse:alice:pa\\:ss\\\\word\n\
                    *:*:*:*:fallback\n";
        let wanted = |database| Wanted {
            host: "db.example",
            port: 5432,
            database,
            user: "alice",
        };
        assert_eq!(find(text, &wanted("pulse")).as_deref(), Some("pa:ss\\word"));
        assert_eq!(find(text, &wanted("else")).as_deref(), Some("fallback"));
        assert_eq!(find("a:b:c\n", &wanted("pulse")), None);
    }
}
