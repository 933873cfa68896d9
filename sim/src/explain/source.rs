//! The app's own source lines, read where the recording ran: a call site's file is named
//! relative to the directory the recording ran in, so it is looked up from the working
//! directory and each directory above it, then from each directory above the trace file. A file that cannot be found
//! gives no line (explain then says nothing that needs it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Source files by the name a call site gives them, read once each.
#[derive(Debug, Default)]
pub struct Sources {
    roots: Vec<PathBuf>,
    files: HashMap<String, Option<Vec<String>>>,
}

impl Sources {
    /// Sources for a trace read from `trace_path`.
    pub fn for_trace(trace_path: &str) -> Sources {
        let mut roots = Vec::new();
        if let Ok(cwd) = std::env::current_dir() {
            roots.extend(cwd.ancestors().map(Path::to_path_buf));
        }
        if let Ok(absolute) = std::fs::canonicalize(trace_path) {
            roots.extend(absolute.ancestors().skip(1).map(Path::to_path_buf));
        }
        Sources {
            roots,
            files: HashMap::new(),
        }
    }

    /// Line `line` (1-based) of `file`, without its line break.
    pub fn line(&mut self, file: &str, line: u64) -> Option<&str> {
        let roots = &self.roots;
        let lines = self.files.entry(file.to_owned()).or_insert_with(|| {
            let path = Path::new(file);
            let candidates: Vec<PathBuf> = if path.is_absolute() {
                vec![path.to_path_buf()]
            } else {
                roots.iter().map(|r| r.join(path)).collect()
            };
            candidates
                .iter()
                .find_map(|p| std::fs::read_to_string(p).ok())
                .map(|text| text.lines().map(str::to_owned).collect())
        });
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        lines.as_ref()?.get(index).map(String::as_str)
    }
}

/// Whether `line` calls the `delete_memoized` attribute of a method reached through an
/// object rather than its class: `a.inst.delete_memoized()` (not `Calc.inst.…`, whose
/// reach is every instance on purpose). `method` is the method's name, `class` its class's.
pub fn resets_through_an_instance(line: &str, method: &str, class: &str) -> bool {
    let Some(at) = line.find(&format!(".{method}.delete_memoized()")) else {
        return false;
    };
    let receiver = line[..at]
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == ')' || c == '('))
        .next()
        .unwrap_or("");
    let last = receiver.rsplit('.').next().unwrap_or(receiver);
    !receiver.is_empty() && last != class
}

#[cfg(test)]
mod tests {
    use super::resets_through_an_instance;

    #[test]
    fn an_attribute_reset_through_an_object_is_told_from_one_through_the_class() {
        assert!(resets_through_an_instance(
            "    a.inst.delete_memoized()  # x",
            "inst",
            "Calc"
        ));
        assert!(resets_through_an_instance(
            "Calc(1).inst.delete_memoized()",
            "inst",
            "Calc"
        ));
        assert!(!resets_through_an_instance(
            "Calc.inst.delete_memoized()",
            "inst",
            "Calc"
        ));
        assert!(!resets_through_an_instance(
            "app.models.Calc.inst.delete_memoized()",
            "inst",
            "Calc"
        ));
        assert!(!resets_through_an_instance(
            "cache.delete_memoized(a.inst)",
            "inst",
            "Calc"
        ));
    }
}
