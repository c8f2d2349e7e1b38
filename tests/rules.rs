//! Every rule's examples and counterexamples, every isomorphism's cases, and
//! the examples of the rule-language reference (`rules/README.md`) run as
//! tests, through the code `pinpatch test-rules` runs.

use crate::support::{check_rewrite, pinpatch, stderr};
use pinpatch::rule::{RulePack, Target};
use pinpatch::ruletest::{iso_matches, run_pack, write_table, CaseKind};

#[test]
fn builtin_pack_cases_pass() {
    for name in ["gup", "gup-api"] {
        check_pack_cases(&RulePack::builtin_named(name).unwrap());
    }
}

/// `pinpatch test-rules rules` tests both packs and exits 0; a pack with a
/// failing case makes it exit 1 with the failure in the table.
#[test]
fn test_rules_command() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let ok = pinpatch(&["test-rules", "rules"], root);
    let table = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert_eq!(ok.status.code(), Some(0), "{table}{}", stderr(&ok));
    assert!(table.contains("PASS  gup/put_page-loop-dirty"), "{table}");
    assert!(table.contains("PASS  gup-api/vmas-null"), "{table}");
    assert!(table.contains("PASS  loop-step"), "{table}");
    assert!(table.ends_with(" passed, 0 failed\n"), "{table}");

    let dir = tempfile::tempdir().unwrap();
    let rule = std::fs::read_to_string(root.join("rules/gup-api/vmas-null.toml")).unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        rule.replace("\t\t\t     pages);", "\t\t\t     pages, NULL);"),
    )
    .unwrap();
    let failed = pinpatch(&["test-rules", dir.path().to_str().unwrap()], root);
    let table = String::from_utf8_lossy(&failed.stdout).into_owned();
    assert_eq!(failed.status.code(), Some(1), "{table}");
    assert!(table.contains("FAIL  gup-api/vmas-null "), "{table}");
    assert!(
        table.contains("-\t\t\t     pages, NULL);\n      +\t\t\t     pages);"),
        "{table}"
    );
    assert!(table.ends_with(" passed, 1 failed\n"), "{table}");
}

fn check_pack_cases(pack: &RulePack) {
    let results = run_pack(pack);
    let mut table = Vec::new();
    write_table(&mut table, &results).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(results.iter().all(|r| r.passed()), "{table}");
    // Every rule and every isomorphism has both kinds of case (a rule
    // without them would be a failing `cases` row above).
    assert!(!pack.rules.is_empty());
    for rule in &pack.rules {
        for kind in [CaseKind::Example, CaseKind::Counterexample] {
            assert!(
                results
                    .iter()
                    .any(|r| r.subject == rule.id && r.kind == kind),
                "{} has no {kind:?}",
                rule.id
            );
        }
    }
    for iso in &pack.isos.isos {
        for kind in [CaseKind::IsoExample, CaseKind::IsoCounterexample] {
            assert!(
                results
                    .iter()
                    .any(|r| r.subject == iso.id && r.kind == kind),
                "{} has no {kind:?}",
                iso.id
            );
        }
    }
}

/// The files of the built-in GUP pack with its isomorphisms, as
/// `RulePack::from_files` takes them, for a test to change or add to.
fn gup_pack_files() -> Vec<(String, String)> {
    pinpatch::rule::BUILTIN_RULES
        .iter()
        .filter(|(p, _)| p.starts_with("gup/") || *p == "iso.toml")
        .map(|(p, t)| (format!("rules/{p}"), t.to_string()))
        .collect()
}

#[test]
fn failing_cases_are_reported_with_a_diff() {
    let mut files = gup_pack_files();
    // A wrong `after` and a counterexample that the rule does rewrite.
    let put_page = files
        .iter_mut()
        .find(|(p, _)| p.ends_with("/put_page.toml"))
        .unwrap();
    put_page.1 = put_page
        .1
        .replacen("\tunpin_user_page(page);", "\tput_user_page(page);", 1);
    put_page.1.push_str(
        "\n[[counterexample]]\ntarget = \"unpin\"\nbefore = \"\"\"\nstatic void f(unsigned long a)\n{\n\tstruct page *p;\n\n\tif (get_user_pages_fast(a, 1, FOLL_WRITE, &p) == 1) {\n\t\tset_page_dirty_lock(p);\n\t\tflush_dcache_page(p);\n\t\tput_page(p);\n\t}\n}\n\"\"\"\n",
    );
    let pack = RulePack::from_files(files).unwrap();
    let results = run_pack(&pack);
    let failed: Vec<_> = results.iter().filter(|r| !r.passed()).collect();
    assert_eq!(failed.len(), 2, "{failed:#?}");
    let mut table = Vec::new();
    write_table(&mut table, &results).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(table.contains("FAIL  gup/put_page"), "{table}");
    assert!(
        table.contains("-\tput_user_page(page);\n      +\tunpin_user_page(page);"),
        "{table}"
    );
    assert!(
        table.contains(
            "the rule rewrites what it must leave alone: line 8: put_page(p) -> unpin_user_page(p)"
        ),
        "{table}"
    );
    assert!(table.ends_with(&format!("{} passed, 2 failed\n", results.len() - 2)));
}

/// Each isomorphism's examples match only because of it: without it, they
/// do not.
#[test]
fn iso_examples_need_their_isomorphism() {
    let text = pinpatch::rule::BUILTIN_RULES
        .iter()
        .find(|(p, _)| *p == "iso.toml")
        .unwrap()
        .1;
    let blocks: Vec<&str> = text.split("\n[[iso]]\n").collect();
    let full = RulePack::builtin().unwrap();
    for iso in full.isos.isos.iter().filter(|i| i.builtin.is_none()) {
        let without: Vec<&str> = blocks
            .iter()
            .filter(|b| !b.starts_with(&format!("id = \"{}\"", iso.id)))
            .copied()
            .collect();
        assert_eq!(without.len(), blocks.len() - 1, "{} not found", iso.id);
        let pack = RulePack::from_files(vec![(
            "rules/iso.toml".to_string(),
            without.join("\n[[iso]]\n"),
        )])
        .unwrap();
        for case in &iso.examples {
            assert!(
                iso_matches(&full, &case.pattern, &case.code)
                    .unwrap()
                    .is_some(),
                "{}: {}",
                iso.id,
                case.code
            );
            assert_eq!(
                iso_matches(&pack, &case.pattern, &case.code).unwrap(),
                None,
                "{} matches without its isomorphism",
                iso.id
            );
        }
    }
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
    assert!(
        examples.len() >= 4,
        "rules/README.md holds {} examples",
        examples.len()
    );
    for (rule, before, after, target) in examples {
        let mut files = gup_pack_files();
        files.push(("rules/README-example.toml".to_string(), rule));
        let pack = RulePack::from_files(files).unwrap();
        assert_eq!(check_rewrite(&pack, target, &before), after);
        // The example's rule passes its own cases too.
        let rule_id = pack.rules.last().unwrap().id.clone();
        for r in run_pack(&pack).iter().filter(|r| r.subject == rule_id) {
            assert!(r.passed(), "{rule_id}: {:?}", r.failure);
        }
    }
}

/// Every key of the rule schema (the serde mirrors in src/rule/raw.rs and
/// src/rule/iso.rs) is documented in rules/README.md, as `` `key` ``.
#[test]
fn every_schema_key_is_documented() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/rules/README.md")).unwrap();
    let mut keys = Vec::new();
    for file in ["src/rule/raw.rs", "src/rule/iso.rs"] {
        let src = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        let mut in_raw = false;
        let mut rename: Option<String> = None;
        for line in src.lines() {
            let l = line.trim();
            if l.starts_with("pub struct Raw") || l.starts_with("struct Raw") {
                in_raw = true;
                continue;
            }
            if l == "}" {
                in_raw = false;
                continue;
            }
            if !in_raw {
                continue;
            }
            if let Some(r) = l.split("rename = \"").nth(1) {
                rename = Some(r.split('"').next().unwrap().to_string());
                continue;
            }
            let field = l.strip_prefix("pub ").unwrap_or(l);
            if let Some((name, _)) = field.split_once(':') {
                if name.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !name.is_empty() {
                    keys.push((file, rename.take().unwrap_or_else(|| name.to_string())));
                }
            }
        }
    }
    assert!(keys.len() > 40, "only {} schema keys found", keys.len());
    let missing: Vec<String> = keys
        .iter()
        .filter(|(_, k)| !readme.contains(&format!("`{k}`")))
        .map(|(f, k)| format!("{k} ({f})"))
        .collect();
    assert!(missing.is_empty(), "undocumented rule keys: {missing:?}");
}

/// The loop rules are one pattern each; the isomorphisms expand them into
/// every counting loop: 2 tests (`<`, `!=`) and `>` for `<`, 4 steps, an
/// assigned or declared index; and 4 bodies for the dirtying loop.
#[test]
fn loop_patterns_expand_into_every_counting_loop() {
    let pack = RulePack::builtin().unwrap();
    let rule = |id: &str| pack.rules.iter().find(|r| r.id == id).unwrap();
    let plain = rule("gup/put_page-loop");
    let sources: Vec<String> = plain
        .patterns
        .iter()
        .map(|p| p.source.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(sources.len(), 3 * 4 * 2, "{sources:#?}");
    for shape in [
        "for ($i = 0; $i < $n; $i++) put_page($pages[$i]);",
        "for ($i = 0; $n > $i; $i += 1) put_page($pages[$i]);",
        "for ($i = 0; $i != $n; $i = $i + 1) put_page($pages[$i]);",
        "for ($loop_declared_index_T $i = 0; $i != $n; ++$i) put_page($pages[$i]);",
    ] {
        assert!(
            sources.iter().any(|s| s == shape),
            "{shape} not in {sources:#?}"
        );
    }
    assert_eq!(
        rule("gup/put_page-loop-dirty").patterns.len(),
        4 * 3 * 4 * 2
    );
}

/// A unit released by `put_page()` and by `folio_put(page_folio(page))`.
const DROP_ONE: &str = "static void drop_one(unsigned long addr, bool early)\n{\n\tstruct page *page;\n\n\tif (get_user_pages_fast(addr, 1, FOLL_WRITE, &page) != 1)\n\t\treturn;\n\tset_page_dirty_lock(page);\n\tif (early)\n\t\tput_page(page);\n\telse\n\t\tfolio_put(page_folio(page));\n}\n";

/// `DROP_ONE` rewritten for `target` by the built-in pack and a release
/// rule for `folio_put(page_folio(page))` whose only rewrite is
/// `rewrite` (a line of its `[rewrite]` table).
fn check_folio_release(rewrite: &str, target: Target) -> String {
    let rule = format!(
        r#"
id = "test/folio_put"
kind = "release"
title = "folio_put(page_folio(page)) of a GUP page"

[doc]
what = "Matches folio_put(page_folio(page)) where page comes from a GUP acquire."
why = "The folio form drops the same reference as put_page(page)."

[metavars]
page = "expression"

[[match]]
pattern = "folio_put(page_folio($page))"

[release]
family = "put"
page = "$page"

[rewrite]
{rewrite}
"#
    );
    let mut files = gup_pack_files();
    files.push(("rules/test-folio_put.toml".to_string(), rule));
    check_rewrite(&RulePack::from_files(files).unwrap(), target, DROP_ONE)
}

/// A release rule with no form for the target (a folio's release, which
/// the 2018 API has none for) leaves its unit whole there, where the
/// other release alone was converted; a target it has a form for
/// converts the unit with both of its releases.
#[test]
fn a_release_without_a_form_for_the_target_leaves_its_unit_whole() {
    let unpin_only = r#"unpin = "unpin_user_page($page)""#;
    let put_user_page_only = r#"put_user_page = "put_user_page($page)""#;
    assert_eq!(
        check_folio_release(unpin_only, Target::PutUserPage),
        DROP_ONE
    );
    assert_eq!(
        check_folio_release(put_user_page_only, Target::Unpin),
        DROP_ONE
    );
    let pinned = DROP_ONE
        .replace("get_user_pages_fast", "pin_user_pages_fast")
        .replace("put_page(page)", "unpin_user_page(page)")
        .replace("folio_put(page_folio(page))", "unpin_user_page(page)");
    assert_eq!(check_folio_release(unpin_only, Target::Unpin), pinned);
}
