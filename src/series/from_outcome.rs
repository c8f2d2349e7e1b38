//! From a pipeline `Outcome` to the series layer's input: the converted
//! units with their edits and the facts their messages state, the fixes
//! for pinned pages released with `put_page()`, and the sites left for a
//! human.
//!
//! A fix is built here because the engine never converts a pinned flow: the
//! mismatched release is matched again with its own rule and rendered with
//! the rule's `unpin` template, whatever the run's target, since pinned
//! pages must be unpinned in either plan.

use super::input::{stored_in, CallChange, Evidence, Facts, Fix, FixKind, ManualSite, Place, Unit};
use crate::engine::{Evidence as EngineEvidence, Plan, Site, SiteKind, Unit as EngineUnit};
use crate::pipeline::{FileOutcome, Outcome};
use crate::rule::{ReleaseFamily, RulePack, Target};

/// The converted units of a run, each with its edits (in every file it
/// touches), a one-line summary and its facts; then one fix unit per flow
/// whose pinned pages are released with `put_page()`.
pub fn units(outcome: &Outcome, pack: &RulePack) -> Vec<Unit> {
    let mut out = Vec::new();
    for (ui, unit) in outcome.units.iter().enumerate() {
        if !unit.is_converted() {
            continue;
        }
        let mut edits = Vec::new();
        let mut acquires = 0;
        let mut releases = 0;
        for f in &outcome.files {
            edits.extend(
                f.edits
                    .iter()
                    .filter(|(u, _)| *u == ui)
                    .map(|(_, e)| (f.rel_path.clone(), e.clone())),
            );
            for s in f.findings.sites.iter().filter(|s| s.unit == Some(ui)) {
                match s.kind {
                    SiteKind::Acquire => acquires += 1,
                    SiteKind::Release => releases += 1,
                    SiteKind::Rewrite => {}
                }
            }
        }
        if edits.is_empty() {
            continue;
        }
        out.push(Unit {
            class: unit.class,
            rule_ids: unit.rules.clone(),
            edits,
            acquire_sites: acquires,
            release_sites: releases,
            summary: summary(unit, releases),
            facts: facts(outcome, ui, pack),
            fix: None,
        });
    }
    for (ui, unit) in outcome.units.iter().enumerate() {
        if let Some(fix) = fix_unit(outcome, ui, unit, pack) {
            out.push(fix);
        }
    }
    out
}

fn summary(unit: &EngineUnit, releases: usize) -> String {
    format!(
        "{}:{} {}(): pages `{}`, {releases} release{}",
        unit.file,
        unit.line,
        unit.function,
        unit.pages,
        if releases == 1 { "" } else { "s" }
    )
}

/// The sites of unit `ui` with their files, in file and offset order.
fn unit_sites(outcome: &Outcome, ui: usize) -> Vec<(&FileOutcome, &Site)> {
    let mut v = Vec::new();
    for f in &outcome.files {
        for s in f.findings.sites.iter().filter(|s| s.unit == Some(ui)) {
            v.push((f, s));
        }
    }
    v
}

/// The name of the function a call statement or expression releases or
/// acquires with: the first call in it that is not a C keyword nor a
/// dirtying call (`put_page` in `for (...) { set_page_dirty(p[i]);
/// put_page(p[i]); }`).
pub fn called_name(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphabetic() || bytes[i] == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &text[start..i];
            let mut j = i;
            while j < bytes.len() && bytes[j] == b' ' {
                j += 1;
            }
            let keyword = matches!(
                word,
                "for" | "if" | "while" | "switch" | "sizeof" | "return"
            );
            if j < bytes.len()
                && bytes[j] == b'('
                && !keyword
                && !word.starts_with("set_page_dirty")
            {
                return word.to_string();
            }
        } else {
            i += 1;
        }
    }
    String::new()
}

fn change(f: &FileOutcome, s: &Site) -> CallChange {
    let from = called_name(&s.call);
    let looped = s.call.starts_with("for") || s.call.starts_with("while");
    let to = s.rewrite.as_deref().map(called_name).unwrap_or_default();
    // A one-page release that also dirties (`set_page_dirty(p); put_page(p);`)
    // folds the dirtying call into a *_dirty_lock() release.
    let folded = if !looped && to.contains("dirty_lock") {
        dirtying_name(&s.call)
    } else {
        String::new()
    };
    CallChange {
        to,
        rewritten: s.rewrite.clone().unwrap_or_default(),
        at: Place {
            path: f.rel_path.clone(),
            line: s.line,
            function: s.function.clone(),
        },
        looped,
        argument: call_argument(&s.call, &from),
        folded,
        from,
    }
}

/// The dirtying call (`set_page_dirty`, `set_page_dirty_lock`) a statement
/// text calls, or empty.
fn dirtying_name(text: &str) -> String {
    let Some(at) = text.find("set_page_dirty") else {
        return String::new();
    };
    text[at..]
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The argument list of the call to `name` in a statement text (the last
/// such call), without its parentheses: `vm->monitor_page` in
/// `set_page_dirty(vm->monitor_page); put_page(vm->monitor_page);`.
fn call_argument(text: &str, name: &str) -> String {
    if name.is_empty() {
        return String::new();
    }
    let bytes = text.as_bytes();
    let mut found = None;
    let mut from = 0;
    while let Some(i) = text[from..].find(name).map(|i| i + from) {
        let before_ok = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let rest = text[i + name.len()..].trim_start();
        if before_ok && rest.starts_with('(') {
            found = Some(text.len() - rest.len());
        }
        from = i + name.len();
    }
    let Some(open) = found else {
        return String::new();
    };
    let mut depth = 0;
    for (k, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return text[open + 1..open + k].to_string();
                }
            }
            _ => {}
        }
    }
    String::new()
}

/// The evidence of a unit, each with the line that shows it.
fn evidence(unit: &EngineUnit, pack: &RulePack) -> Vec<(Evidence, Place)> {
    let mut out = Vec::new();
    for what in &unit.evidence {
        let at = unit.evidence_at.get(what).cloned().unwrap_or_default();
        let e = match (what, stored_in(what)) {
            (_, Some(place)) => Evidence::Stored(place),
            (EngineEvidence::Call(name), None) if pack.flow.evidence_write.contains(name) => {
                Evidence::Write(name.clone())
            }
            (EngineEvidence::Call(name), None) => Evidence::Dma(name.clone()),
            // What is neither a store nor a call is the flag.
            (_, None) => Evidence::LongTerm,
        };
        out.push((e, at));
    }
    out.sort();
    out
}

fn facts(outcome: &Outcome, ui: usize, pack: &RulePack) -> Facts {
    let unit = &outcome.units[ui];
    let mut facts = Facts {
        function: unit.function.clone(),
        pages: unit.pages.clone(),
        evidence: evidence(unit, pack),
        case: unit.case.clone(),
        ..Facts::default()
    };
    for (f, s) in unit_sites(outcome, ui) {
        let c = change(f, s);
        match s.kind {
            SiteKind::Acquire => {
                facts.write |= s.call.contains("FOLL_WRITE");
                if facts.write_condition.is_none() {
                    facts.write_condition = write_condition(&s.call);
                }
                facts.longterm |= s.call.contains("FOLL_LONGTERM");
                facts.acquires.push(c);
            }
            SiteKind::Release => {
                facts.held_beyond_call |= s.function != unit.function;
                if let Some(r) = &s.rewrite {
                    if s.call.contains("set_page_dirty(") && r.contains("dirty_lock") {
                        let place = if c.at.function == unit.function {
                            String::new()
                        } else {
                            format!(" in {}()", c.at.function)
                        };
                        facts.changes.push(format!(
                            "set_page_dirty(){place} becomes set_page_dirty_lock() inside {}(), which takes the page lock while dirtying.",
                            c.to
                        ));
                    }
                }
                facts.releases.push(c);
            }
            // A plain rewrite is stated as what it converts.
            SiteKind::Rewrite => facts.acquires.push(c),
        }
    }
    facts
}

/// `cond` when an acquire's flags argument is `cond ? FOLL_WRITE : 0`.
fn write_condition(call: &str) -> Option<String> {
    call.split(',').find_map(|arg| {
        let (cond, rest) = arg.split_once('?')?;
        let (yes, no) = rest.split_once(':')?;
        (yes.trim() == "FOLL_WRITE" && no.trim().trim_end_matches(')') == "0")
            .then(|| cond.trim().to_string())
    })
}

/// The fix for a flow whose pinned pages are released with `put_page()`:
/// every such release rewritten with its rule's `unpin` template. For a
/// flow whose referenced pages are all released with `unpin_user_page*()`,
/// the acquire rewritten with its rule's `unpin` template instead.
fn fix_unit(outcome: &Outcome, ui: usize, unit: &EngineUnit, pack: &RulePack) -> Option<Unit> {
    if unit.mismatches.is_empty() {
        return None;
    }
    if !unit.is_pinned() {
        return got_unpinned_fix(outcome, ui, unit, pack);
    }
    let mut edits = Vec::new();
    let mut releases = Vec::new();
    let mut correct = Vec::new();
    let mut acquire = None;
    let mut rules = Vec::new();
    for (f, s) in unit_sites(outcome, ui) {
        let rule_index = pack.rules.iter().position(|r| r.id == s.rule)?;
        let rule = &pack.rules[rule_index];
        match s.kind {
            SiteKind::Acquire => {
                if acquire.is_none() {
                    acquire = Some(change(f, s));
                }
            }
            SiteKind::Release => {
                let family = rule.release.as_ref().map(|r| r.family);
                if family != Some(ReleaseFamily::Put) {
                    correct.push(change(f, s));
                    continue;
                }
                // Every wrong release must be fixed, or the patch would
                // convert part of a flow.
                let (c, edit) = unpin_rewrite(f, s, rule_index, pack)?;
                edits.push(edit);
                rules.push(rule.id.clone());
                releases.push(c);
            }
            SiteKind::Rewrite => return None,
        }
    }
    if edits.is_empty() {
        return None;
    }
    rules.sort();
    rules.dedup();
    let mut facts = facts(outcome, ui, pack);
    facts.changes.clear();
    let n = releases.len();
    Some(Unit {
        class: unit.class,
        rule_ids: rules,
        edits,
        acquire_sites: 0,
        release_sites: n,
        summary: format!(
            "{}: pages pinned in {}() at {}:{} released with put_page()",
            releases[0].at, unit.function, unit.file, unit.line
        ),
        facts,
        fix: Some(Fix {
            kind: FixKind::PinnedPut,
            acquire: acquire?,
            releases,
            correct,
        }),
    })
}

/// The fix for referenced pages released with `unpin_user_page*()`: the
/// acquire becomes the pinning one, when every release unpins (a flow
/// that also puts its pages needs a real conversion, not a fix).
fn got_unpinned_fix(
    outcome: &Outcome,
    ui: usize,
    unit: &EngineUnit,
    pack: &RulePack,
) -> Option<Unit> {
    let mut edits = Vec::new();
    let mut acquire = None;
    let mut correct = Vec::new();
    let mut rules = Vec::new();
    for (f, s) in unit_sites(outcome, ui) {
        let rule_index = pack.rules.iter().position(|r| r.id == s.rule)?;
        let rule = &pack.rules[rule_index];
        match s.kind {
            SiteKind::Acquire => {
                let (c, edit) = unpin_rewrite(f, s, rule_index, pack)?;
                edits.push(edit);
                rules.push(rule.id.clone());
                acquire.get_or_insert(c);
            }
            SiteKind::Release => {
                if rule.release.as_ref().map(|r| r.family) != Some(ReleaseFamily::Unpin) {
                    return None;
                }
                correct.push(change(f, s));
            }
            SiteKind::Rewrite => return None,
        }
    }
    let acquire = acquire?;
    rules.sort();
    rules.dedup();
    let mut facts = facts(outcome, ui, pack);
    facts.changes.clear();
    Some(Unit {
        class: unit.class,
        rule_ids: rules,
        acquire_sites: edits.len(),
        edits,
        release_sites: 0,
        summary: format!(
            "{}: pages from {}() released with unpin_user_page*()",
            acquire.at, acquire.from
        ),
        facts,
        fix: Some(Fix {
            kind: FixKind::GotUnpinned,
            acquire,
            releases: Vec::new(),
            correct,
        }),
    })
}

/// A site rewritten with its rule's `unpin` template: the change as the
/// message states it, and the edit (file, bytes).
fn unpin_rewrite(
    f: &FileOutcome,
    s: &Site,
    rule_index: usize,
    pack: &RulePack,
) -> Option<(CallChange, (String, crate::rewrite::Edit))> {
    let rendered = render_unpin(f, s, rule_index, pack)?;
    let mut c = change(f, s);
    c.to = called_name(&rendered.display);
    c.rewritten = rendered.display;
    Some((c, (f.rel_path.clone(), rendered.edit)))
}

/// Matches a site again with its rule and renders the rule's `unpin`
/// template over it; `None` when it no longer matches or the
/// result would not parse as well as the original.
fn render_unpin(
    f: &FileOutcome,
    s: &Site,
    rule_index: usize,
    pack: &RulePack,
) -> Option<crate::rewrite::template::Rendered> {
    let parsed = crate::c::parse::parse(&f.before)?;
    // The match is anchored at a node starting where the site does; a
    // sequence match ends past that node, at the end of its last statement.
    let mut node = parsed
        .tree
        .root_node()
        .descendant_for_byte_range(s.start, s.start)?;
    let matched = loop {
        if node.start_byte() == s.start {
            if let Some(m) = crate::engine::matcher::match_rule(
                rule_index,
                &pack.rules[rule_index],
                node,
                &parsed.original,
            )
            .filter(|m| m.end == s.end)
            {
                break m;
            }
        }
        node = node.parent()?;
        if node.start_byte() < s.start || node.end_byte() > s.end {
            return None;
        }
    };
    let mut rendered = crate::rewrite::template::render(
        &Plan::Replace { matched },
        &pack.rules,
        Target::Unpin,
        &parsed.original,
    )?;
    crate::rewrite::template::lay_out(
        &parsed.original,
        crate::rewrite::template::FileLayout::of(&parsed.original),
        std::slice::from_mut(&mut rendered.edit),
    );
    let after = crate::rewrite::apply_edits(&f.before, std::slice::from_ref(&rendered.edit));
    crate::rewrite::verify::parses_no_worse(parsed.error_count(), &after).then_some(rendered)
}

/// Units left unconverted (other than those already pinned or kept on
/// purpose), mismatches no fix unit repairs, and functions not analysed, as
/// sites for the cover letters.
pub fn manual_sites(outcome: &Outcome, units: &[Unit]) -> Vec<ManualSite> {
    let fixed: Vec<(&str, usize)> = units
        .iter()
        .filter_map(|u| u.fix.as_ref())
        .map(|f| (f.acquire.at.path.as_str(), f.acquire.at.line))
        .collect();
    let mut out = Vec::new();
    for unit in &outcome.units {
        if !fixed.contains(&(unit.file.as_str(), unit.line)) {
            for m in &unit.mismatches {
                out.push(ManualSite {
                    path: unit.file.clone(),
                    line: unit.line,
                    function: unit.function.clone(),
                    reason: format!("mismatch: {m}"),
                });
            }
        }
        if !unit.is_converted() && !unit.is_pinned() && !unit.is_kept() {
            out.push(ManualSite {
                path: unit.file.clone(),
                line: unit.line,
                function: unit.function.clone(),
                reason: crate::sink::reason::joined(&unit.decision.reasons()),
            });
        }
    }
    for f in &outcome.files {
        for s in &f.findings.skipped {
            out.push(ManualSite {
                path: f.rel_path.clone(),
                line: s.line,
                function: s.function.clone(),
                reason: format!("not analysed: {}", s.reason),
            });
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::{call_argument, called_name, dirtying_name};

    #[test]
    fn names_the_releasing_call() {
        assert_eq!(called_name("put_page(sg_page(&sg[i]))"), "put_page");
        assert_eq!(
            called_name("for (i = 0; i < n; i++) { if (d) set_page_dirty(p[i]); put_page(p[i]); }"),
            "put_page"
        );
        assert_eq!(
            called_name("get_user_pages_fast(a, 1, FOLL_WRITE, &page)"),
            "get_user_pages_fast"
        );
    }

    #[test]
    fn reads_a_folded_release() {
        let seq = "if (w) set_page_dirty(vm->page); put_page(vm->page);";
        assert_eq!(call_argument(seq, "put_page"), "vm->page");
        assert_eq!(
            call_argument("put_page(sg_page(&sg[i]))", "put_page"),
            "sg_page(&sg[i])"
        );
        assert_eq!(call_argument("my_put_page(p)", "put_page"), "");
        assert_eq!(dirtying_name(seq), "set_page_dirty");
        assert_eq!(dirtying_name("put_page(p)"), "");
    }
}
