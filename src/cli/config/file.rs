//! The config file: found, parsed with the span of every key and value, each key checked
//! against the flags of `pulse push`, and its values resolved (`${VAR}`, `*_file`) when a
//! command uses them. Every error names the file, line and column; every one is a usage error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::builder::Resettable::Reset;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::names::{arg_for_key, is_credential};
use crate::exit::usage;

/// A place in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub line: usize,
    pub column: usize,
}

/// One key of a table, as written: its values not yet resolved.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The flag's id (clap's: `headers`, `batch_size`).
    pub id: String,
    /// The key as written (`secret_file`).
    pub key: String,
    /// Each value with where it starts (an array's elements each).
    raw: Vec<(String, Place)>,
    /// `<key>_file`: the value is a file to read the flag's value from.
    from_file: bool,
    pub place: Place,
    pub credential: bool,
    /// A flag without a value (`insecure = true`).
    pub switch: bool,
}

/// A table: `[defaults]` or `[destinations.NAME]`.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub place: Option<Place>,
    pub entries: Vec<Entry>,
}

/// A parsed config file.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub defaults: Table,
    pub destinations: BTreeMap<String, Table>,
}

/// The config file to read: `--config`, else `PULSE_CONFIG`, else `./pulse.toml`, else
/// `$XDG_CONFIG_HOME/pulse/config.toml` (`~/.config/pulse/config.toml`); none when none is.
pub fn find(flag: Option<PathBuf>) -> Result<Option<PathBuf>> {
    let named = flag.map(|path| ("--config", path)).or_else(|| {
        std::env::var_os("PULSE_CONFIG")
            .filter(|value| !value.is_empty())
            .map(|value| ("PULSE_CONFIG", PathBuf::from(value)))
    });
    if let Some((from, path)) = named {
        if !path.is_file() {
            return Err(usage(format!(
                "{from} {}: no such config file",
                path.display()
            )));
        }
        return Ok(Some(path));
    }
    let local = PathBuf::from("pulse.toml");
    if local.is_file() {
        return Ok(Some(local));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")));
    Ok(base
        .map(|base| base.join("pulse").join("config.toml"))
        .filter(|path| path.is_file()))
}

/// Reads and checks the file at `path` against the flags of `push`.
pub fn load(path: &Path, push: &clap::Command) -> Result<ConfigFile> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|err| usage(format!("{shown}: cannot read the config file: {err}")))?;
    let others_read = others_can_read(path);
    let at = |offset: usize| place_of(&text, offset);
    let err_at = |offset: usize, message: &str| usage(format!("{shown}:{}: {message}", at(offset)));
    let root = DeTable::parse(&text).map_err(|err| {
        let offset = err.span().map(|span| span.start).unwrap_or(0);
        let message = err.message().trim().replace('\n', " ");
        err_at(offset, &format!("not a TOML file: {message}"))
    })?;
    let reader = Reader {
        text: &text,
        shown: &shown,
        push,
        others_read,
    };
    let mut file = ConfigFile {
        path: path.to_path_buf(),
        defaults: Table::default(),
        destinations: BTreeMap::new(),
    };
    for (key, value) in root.get_ref().iter() {
        let start = key.span().start;
        match (key.get_ref().as_ref(), value.get_ref()) {
            ("defaults", DeValue::Table(table)) => {
                file.defaults = reader.table(table, at(start))?;
            }
            ("destinations", DeValue::Table(names)) => {
                for (name, table) in names.iter() {
                    let DeValue::Table(inner) = table.get_ref() else {
                        return Err(err_at(
                            name.span().start,
                            &format!("destinations.{} must be a table", name.get_ref()),
                        ));
                    };
                    let table = reader.table(inner, at(name.span().start))?;
                    file.destinations.insert(name.get_ref().to_string(), table);
                }
            }
            ("defaults" | "destinations", _) => {
                return Err(err_at(
                    start,
                    &format!("`{}` must be a table", key.get_ref()),
                ));
            }
            (other, _) => {
                return Err(err_at(
                    start,
                    &format!("unknown table `{other}`: a config file has [defaults] and [destinations.NAME]"),
                ));
            }
        }
    }
    Ok(file)
}

/// What reading a table needs.
struct Reader<'a> {
    text: &'a str,
    shown: &'a str,
    push: &'a clap::Command,
    /// The file's mode lets group or others read it: no literal credential in it.
    others_read: Option<u32>,
}

/// Keys the config layer itself reads: not settings.
const NOT_KEYS: [&str; 2] = ["to", "config"];

impl Reader<'_> {
    fn error(&self, offset: usize, message: &str) -> anyhow::Error {
        usage(format!(
            "{}:{}: {message}",
            self.shown,
            place_of(self.text, offset)
        ))
    }

    fn table(&self, table: &DeTable<'_>, place: Place) -> Result<Table> {
        let mut entries = Vec::new();
        for (key, value) in table.iter() {
            entries.push(self.entry(key.get_ref(), key.span().start, value)?);
        }
        Ok(Table {
            place: Some(place),
            entries,
        })
    }

    fn entry(&self, key: &str, offset: usize, value: &Spanned<DeValue<'_>>) -> Result<Entry> {
        let direct = arg_for_key(self.push, key).filter(|_| !NOT_KEYS.contains(&key));
        let (arg, from_file) = match direct {
            Some(arg) => (arg, false),
            None => match key
                .strip_suffix("_file")
                .and_then(|stem| arg_for_key(self.push, stem))
                .filter(|arg| !NOT_KEYS.contains(&arg.get_id().as_str()))
            {
                Some(arg) => (arg, true),
                None => {
                    return Err(self.error(
                        offset,
                        &format!("unknown key `{key}`: keys are the flags of `pulse push` with _ (see `pulse push --help`)"),
                    ))
                }
            },
        };
        let switch = !arg.get_action().takes_values();
        let many = matches!(arg.get_action(), clap::ArgAction::Append);
        let raw = self.values(key, value)?;
        if (from_file || !many) && raw.len() != 1 {
            return Err(self.error(value.span().start, &format!("`{key}` takes one value")));
        }
        if switch && !matches!(raw[0].0.as_str(), "true" | "false") {
            return Err(self.error(value.span().start, &format!("`{key}` is true or false")));
        }
        let headers = arg.get_id() == "headers";
        let secret = |text: &str| !headers || header_is_credential(text);
        let credential =
            raw.iter().any(|(text, _)| secret(text)) && (headers || is_credential(arg));
        let literal =
            !from_file && (raw.iter()).any(|(text, _)| secret(text) && !text.contains("${"));
        if credential
            && literal
            && let Some(mode) = self.others_read
        {
            return Err(self.error(
                value.span().start,
                &format!(
                    "`{key}` is a credential written in a file others can read (mode {mode:o}): \
                     use \"${{VARIABLE}}\" or `{key}_file`, or `chmod 600 {}`",
                    self.shown
                ),
            ));
        }
        let entry = Entry {
            id: arg.get_id().to_string(),
            key: key.to_string(),
            raw,
            from_file,
            place: place_of(self.text, offset),
            credential,
            switch,
        };
        if !entry.raw.iter().any(|(text, _)| text.contains("${")) && !from_file {
            let values: Vec<String> = entry.raw.iter().map(|(text, _)| text.clone()).collect();
            check_value(arg, &values).map_err(|why| self.error(value.span().start, &why))?;
        }
        Ok(entry)
    }

    /// A value's scalar texts: an array's elements each.
    fn values(&self, key: &str, value: &Spanned<DeValue<'_>>) -> Result<Vec<(String, Place)>> {
        let start = value.span().start;
        let scalar = |value: &DeValue<'_>| match value {
            DeValue::String(text) => Some(text.to_string()),
            DeValue::Integer(int) => integer_text(int.as_str(), int.radix()),
            DeValue::Float(float) => Some(float.as_str().replace('_', "")),
            DeValue::Boolean(yes) => Some(yes.to_string()),
            _ => None,
        };
        let wrong = || {
            self.error(
                start,
                &format!("`{key}` takes a string, a number, true or false, or an array of them"),
            )
        };
        match value.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .map(|item| {
                    scalar(item.get_ref())
                        .map(|text| (text, place_of(self.text, item.span().start)))
                        .ok_or_else(wrong)
                })
                .collect(),
            other => Ok(vec![(
                scalar(other).ok_or_else(wrong)?,
                place_of(self.text, start),
            )]),
        }
    }
}

/// An integer as clap reads it: decimal.
fn integer_text(text: &str, radix: u32) -> Option<String> {
    let digits = text.replace('_', "");
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(rest) => ("-", rest.to_string()),
        None => ("", digits.trim_start_matches('+').to_string()),
    };
    let digits = digits
        .trim_start_matches("0x")
        .trim_start_matches("0o")
        .trim_start_matches("0b");
    let value = i128::from_str_radix(digits, radix).ok()?;
    Some(format!("{sign}{value}"))
}

/// Whether a `Name: value` header line carries a credential.
fn header_is_credential(line: &str) -> bool {
    line.split_once(':')
        .is_some_and(|(name, _)| crate::redact::is_credential_header(name))
}

/// Whether `values` are what the flag accepts, checked by the flag's own parser; the reason
/// when not (never repeating a credential's value).
pub fn check_value(arg: &clap::Arg, values: &[String]) -> std::result::Result<(), String> {
    let Some(long) = arg.get_long() else {
        return Ok(());
    };
    if !arg.get_action().takes_values() {
        return Ok(());
    }
    let alone = arg
        .clone()
        .required(false)
        .requires(Reset)
        .conflicts_with(Reset)
        .required_unless_present(Reset)
        .group(Reset)
        .env(None::<&str>)
        .default_value(None::<&str>);
    let command = clap::Command::new("pulse")
        .no_binary_name(true)
        .disable_help_flag(true)
        .arg(alone);
    let words = values
        .iter()
        .flat_map(|value| [format!("--{long}"), value.clone()]);
    match command.try_get_matches_from(words) {
        Ok(_) => Ok(()),
        Err(_) if is_credential(arg) => Err("not a value this flag accepts".to_string()),
        Err(err) => {
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            Err(first.trim_start_matches("error: ").to_string())
        }
    }
}

impl ConfigFile {
    /// Where an entry is written: `FILE:LINE`.
    pub fn origin(&self, entry: &Entry) -> String {
        format!("{}:{}", self.path.display(), entry.place.line)
    }

    /// The entries a push to `to` takes: `[defaults]`, each overridden by the destination's.
    /// An unknown destination, or one left without a URL, is an error.
    pub fn layered(&self, to: Option<&str>) -> Result<Vec<Entry>> {
        let mut entries = self.defaults.entries.clone();
        let Some(name) = to else {
            return Ok(entries);
        };
        let shown = self.path.display();
        let Some(table) = self.destinations.get(name) else {
            let known: Vec<&str> = self.destinations.keys().map(String::as_str).collect();
            let known = if known.is_empty() {
                "it has none".to_string()
            } else {
                format!("it has {}", known.join(", "))
            };
            return Err(usage(format!(
                "--to {name}: no [destinations.{name}] in {shown} ({known})"
            )));
        };
        for entry in &table.entries {
            entries.retain(|kept| kept.id != entry.id);
            entries.push(entry.clone());
        }
        if !entries.iter().any(|entry| entry.id == "url") {
            let line = table.place.map(|p| p.line).unwrap_or(1);
            return Err(usage(format!(
                "{shown}:{line}: [destinations.{name}] has no url (nor has [defaults])"
            )));
        }
        Ok(entries)
    }

    /// An entry's values: `${VAR}` replaced from the environment, a `*_file` key's file read
    /// (trimmed), then checked by the flag's parser.
    pub fn resolve(&self, entry: &Entry, push: &clap::Command) -> Result<Vec<String>> {
        let shown = self.path.display();
        let mut values = Vec::with_capacity(entry.raw.len());
        for (text, place) in &entry.raw {
            let value = interpolate(text).map_err(|name| {
                usage(format!(
                    "{shown}:{place}: ${{{name}}} in `{}` is not set in the environment",
                    entry.key
                ))
            })?;
            let value = if entry.from_file {
                std::fs::read_to_string(&value)
                    .map(|content| content.trim().to_string())
                    .map_err(|err| {
                        usage(format!(
                            "{shown}:{place}: `{}`: cannot read {value}: {err}",
                            entry.key
                        ))
                    })?
            } else {
                value
            };
            values.push(value);
        }
        if let Some(arg) = arg_for_key(push, &entry.id) {
            check_value(arg, &values)
                .map_err(|why| usage(format!("{shown}:{}: `{}`: {why}", entry.place, entry.key)))?;
        }
        Ok(values)
    }
}

/// `text` with each `${NAME}` replaced by the variable's value; the first unset name if any.
fn interpolate(text: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        match std::env::var(name) {
            Ok(value) => out.push_str(&value),
            Err(_) => return Err(name.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The mode of a file group or others may read; none when only its owner may.
fn others_can_read(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The line and column (1-based, in characters) of a byte offset.
fn place_of(text: &str, offset: usize) -> Place {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Place { line, column }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}
