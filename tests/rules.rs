//! Every rule's examples, and the examples of the rule-language reference
//! (`rules/README.md`), run as tests: `before` must become exactly `after`.

use crate::support::check_rewrite;
use pinpatch::rule::{RulePack, Target};

#[test]
fn rule_examples_rewrite_exactly() {
    let pack = RulePack::builtin().unwrap();
    let mut ran = 0;
    for rule in &pack.rules {
        for ex in &rule.examples {
            let got = check_rewrite(&pack, ex.target, &ex.before);
            assert_eq!(
                got,
                ex.after,
                "example of {} ({}) for target {}",
                rule.id,
                rule.path,
                ex.target.name()
            );
            ran += 1;
        }
    }
    assert!(ran >= 8, "only {ran} rule examples ran");
}

/// The fenced blocks of rules/README.md tagged `toml rule`, `c before` and
/// `c after`, in order.
fn readme_examples() -> Vec<(String, String, String, Target)> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/README.md")).unwrap();
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some((tag, body)) = current.as_mut() {
            if line == "```" {
                blocks.push((tag.clone(), body.clone()));
                current = None;
            } else {
                body.push_str(line);
                body.push('\n');
            }
            continue;
        }
        if let Some(tag) = line.strip_prefix("```") {
            current = Some((tag.to_string(), String::new()));
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        if blocks[i].0.starts_with("toml rule") {
            let target = if blocks[i].0.contains("put_user_page") {
                Target::PutUserPage
            } else {
                Target::Unpin
            };
            let (rule, before, after) = (&blocks[i].1, &blocks[i + 1], &blocks[i + 2]);
            assert_eq!(
                (before.0.as_str(), after.0.as_str()),
                ("c before", "c after"),
                "README example layout"
            );
            out.push((rule.clone(), before.1.clone(), after.1.clone(), target));
            i += 3;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn readme_examples_rewrite_exactly() {
    let examples = readme_examples();
    assert!(!examples.is_empty(), "rules/README.md holds no example");
    for (rule, before, after, target) in examples {
        let mut files: Vec<(String, String)> = pinpatch::rule::BUILTIN_RULES
            .iter()
            .map(|(p, t)| (format!("rules/{p}"), t.to_string()))
            .collect();
        files.push(("rules/README-example.toml".to_string(), rule));
        let pack = RulePack::from_files(files).unwrap();
        assert_eq!(check_rewrite(&pack, target, &before), after);
    }
}
