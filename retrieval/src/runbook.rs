//! Runbooks: Markdown pages chunked by heading, each section embedded and stored as one
//! document (`runbook:<path>#<heading-slug>`), so a search finds the part of a page that
//! matches, not just the page.

use std::path::{Path, PathBuf};

use crate::store::{DocKind, Document, VectorStore};
use crate::{Embedder, RetrievalError};

/// One section of a runbook page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookChunk {
    /// `runbook:<path>#<heading-slug>`.
    pub id: String,
    /// `<page title> — <heading>` (the page title alone for text before the first subheading).
    pub title: String,
    /// What gets embedded: the title line, then the section's body.
    pub text: String,
}

/// Splits a page into sections at ATX headings (`#`..`######`, not inside code fences).
/// The first `#` heading is the page title; text under it before any subheading becomes a
/// chunk of its own. Sections with no body are skipped. Slugs repeated within a page get
/// `-1`, `-2`, ... appended, as GitHub's anchors do.
pub fn chunk_markdown(path: &str, markdown: &str) -> Vec<RunbookChunk> {
    let mut page_title: Option<String> = None;
    let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        match (!in_fence).then(|| heading(line)).flatten() {
            Some((level, text)) => {
                if level == 1 && page_title.is_none() {
                    page_title = Some(text.to_string());
                }
                sections.push((text.to_string(), Vec::new()));
            }
            None => match sections.last_mut() {
                Some((_, body)) => body.push(line),
                None => sections.push((String::new(), vec![line])),
            },
        }
    }
    let page_title = page_title.unwrap_or_else(|| page_name(path));
    let mut used_slugs: Vec<String> = Vec::new();
    let mut chunks = Vec::new();
    for (heading, body) in sections {
        let body = body.join("\n").trim().to_string();
        if body.is_empty() {
            continue;
        }
        let heading = if heading.is_empty() {
            page_title.clone()
        } else {
            heading
        };
        let title = if heading == page_title {
            page_title.clone()
        } else {
            format!("{page_title} — {heading}")
        };
        let base = slug(&heading);
        let mut candidate = base.clone();
        let mut n = 0;
        while used_slugs.contains(&candidate) {
            n += 1;
            candidate = format!("{base}-{n}");
        }
        used_slugs.push(candidate.clone());
        chunks.push(RunbookChunk {
            id: format!("runbook:{path}#{candidate}"),
            text: format!("{title}\n{body}"),
            title,
        });
    }
    chunks
}

/// `## Likely causes ##` → `(2, "Likely causes")`.
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = &line[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim();
    (!text.is_empty()).then_some((level, text))
}

/// GitHub-style anchor: lowercase, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

fn page_name(path: &str) -> String {
    Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().replace(['-', '_'], " "))
        .unwrap_or_else(|| path.to_string())
}

/// Reads every `*.md` under `dir` (recursively, in path order), chunks, embeds and
/// upserts; returns the number of chunks. Paths in ids are relative to `dir`, with `/`.
pub async fn ingest_runbooks(
    dir: &Path,
    embedder: &dyn Embedder,
    store: &dyn VectorStore,
) -> Result<usize, RetrievalError> {
    let mut files = Vec::new();
    collect_markdown(dir, &mut files)?;
    files.sort();
    let mut total = 0;
    for file in files {
        let markdown = std::fs::read_to_string(&file).map_err(|source| RetrievalError::Io {
            path: file.clone(),
            source,
        })?;
        let relative = file.strip_prefix(dir).unwrap_or(&file);
        let path = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let chunks = chunk_markdown(&path, &markdown);
        if chunks.is_empty() {
            continue;
        }
        let texts: Vec<String> = chunks.iter().map(|c| c.text.clone()).collect();
        let vectors = embedder.embed(&texts).await?;
        let docs: Vec<Document> = chunks
            .into_iter()
            .zip(vectors)
            .map(|(chunk, vector)| Document {
                id: chunk.id,
                kind: DocKind::Runbook,
                title: chunk.title,
                text: chunk.text,
                resolution: None,
                vector,
            })
            .collect();
        total += docs.len();
        store.upsert(docs).await?;
    }
    Ok(total)
}

fn collect_markdown(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), RetrievalError> {
    let entries = std::fs::read_dir(dir).map_err(|source| RetrievalError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| RetrievalError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect_markdown(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("md"))
        {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# Disk full\n\nWhen a volume fills up.\n\n## Symptoms\n\n`No space left on device`\n\n\
                        ## Fix\n\n```sh\n# not a heading\ndf -h\n```\n\n## Empty\n\n## Fix\n\nSecond fix section.\n";

    #[test]
    fn chunks_by_heading_with_page_title_and_unique_slugs() {
        let chunks = chunk_markdown("storage/disk-full.md", PAGE);
        let ids: Vec<&str> = chunks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "runbook:storage/disk-full.md#disk-full",
                "runbook:storage/disk-full.md#symptoms",
                "runbook:storage/disk-full.md#fix",
                "runbook:storage/disk-full.md#fix-1",
            ]
        );
        assert_eq!(chunks[1].title, "Disk full — Symptoms");
        assert!(chunks[1].text.starts_with("Disk full — Symptoms\n"));
        assert!(
            chunks[2].text.contains("# not a heading"),
            "fenced lines stay in the body"
        );
    }

    #[test]
    fn page_without_title_is_named_after_its_file() {
        let chunks = chunk_markdown(
            "kafka_consumer-lag.md",
            "Some intro.\n\n## Fix\nscale out\n",
        );
        assert_eq!(chunks[0].title, "kafka consumer lag");
        assert_eq!(chunks[1].title, "kafka consumer lag — Fix");
    }

    #[test]
    fn slugs_follow_github_anchors() {
        assert_eq!(
            slug("Likely causes (most common first)"),
            "likely-causes-most-common-first"
        );
        assert_eq!(heading("#hashtag"), None);
        assert_eq!(heading("### Fix ###"), Some((3, "Fix")));
    }
}
