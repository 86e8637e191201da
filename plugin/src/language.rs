//! The languages whose stack traces CALI recognizes, and sets of them (a setting).

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    Java,
    Python,
    Go,
    Ruby,
    Node,
    Dotnet,
    Php,
    Rust,
    Dart,
}

impl Language {
    pub const ALL: [Language; 9] = [
        Language::Java,
        Language::Python,
        Language::Go,
        Language::Ruby,
        Language::Node,
        Language::Dotnet,
        Language::Php,
        Language::Rust,
        Language::Dart,
    ];

    /// The name used in settings and in the event (`exception.language`).
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Java => "java",
            Language::Python => "python",
            Language::Go => "go",
            Language::Ruby => "ruby",
            Language::Node => "node",
            Language::Dotnet => "dotnet",
            Language::Php => "php",
            Language::Rust => "rust",
            Language::Dart => "dart",
        }
    }

    /// Accepts the canonical names and common aliases (`kotlin`/`scala` → java,
    /// `js`/`nodejs`/`javascript` → node, `csharp`/`.net` → dotnet, ...).
    pub fn parse(name: &str) -> Option<Language> {
        let n = name.trim().to_ascii_lowercase();
        Some(match n.as_str() {
            "java" | "kotlin" | "scala" | "jvm" => Language::Java,
            "python" | "py" => Language::Python,
            "go" | "golang" => Language::Go,
            "ruby" | "rails" | "rb" => Language::Ruby,
            "node" | "nodejs" | "node.js" | "js" | "javascript" | "typescript" => Language::Node,
            "dotnet" | ".net" | "csharp" | "c#" | "cs" => Language::Dotnet,
            "php" => Language::Php,
            "rust" | "rs" => Language::Rust,
            "dart" | "flutter" => Language::Dart,
            _ => return None,
        })
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of languages (the `languages` setting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LanguageSet(u16);

impl Default for LanguageSet {
    fn default() -> Self {
        Self::all()
    }
}

impl LanguageSet {
    pub fn all() -> Self {
        Self(Language::ALL.iter().fold(0, |acc, l| acc | l.bit()))
    }

    pub fn empty() -> Self {
        Self(0)
    }

    pub fn insert(&mut self, l: Language) {
        self.0 |= l.bit();
    }

    pub fn contains(self, l: Language) -> bool {
        self.0 & l.bit() != 0
    }

    /// `all`, or a comma-separated list of names. Unknown names are an error naming them.
    pub fn parse_list(list: &str) -> Result<Self, String> {
        if list.trim().eq_ignore_ascii_case("all") {
            return Ok(Self::all());
        }
        let mut set = Self::empty();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match Language::parse(name) {
                Some(l) => set.insert(l),
                None => return Err(format!("unknown language {name:?}")),
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_aliases() {
        let set = LanguageSet::parse_list("kotlin, python,js").unwrap();
        assert!(set.contains(Language::Java));
        assert!(set.contains(Language::Python));
        assert!(set.contains(Language::Node));
        assert!(!set.contains(Language::Go));
        assert_eq!(LanguageSet::parse_list("ALL").unwrap(), LanguageSet::all());
        assert!(LanguageSet::parse_list("java,cobol")
            .unwrap_err()
            .contains("cobol"));
    }
}
