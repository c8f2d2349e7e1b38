//! Grouping units into series and patches.
//!
//! The rules, in order:
//!
//! 1. A unit belongs to the subsystem (most specific maintained MAINTAINERS
//!    section) of its first file in path order. A unit is never split, so a
//!    cross-file unit that spans subsystems lands in one patch whose
//!    recipients cover all its files.
//! 2. All `Easy` units form the series `easy`. Units of the other classes
//!    form one series per class and routing target `(T: tree, sorted M:
//!    set)`, named `<class>-<area>`, where the area is the subject prefix of
//!    the deepest directory holding all the series' files (`local-rdma`,
//!    `cross-file-drm-amd`). Name clashes add the section title.
//! 3. Inside a series there is one patch per subsystem; patches whose
//!    subjects would be equal are merged, so subjects are unique.
//! 4. Patches are sorted by subject, then path; a series with more than
//!    `max_patches` patches is cut in order into `<name>-1`, `<name>-2`, ….
//! 5. Recipients come from the rendered patch text, as get_maintainer.pl
//!    would compute them; a cover letter goes to the union of its patches.
//! 6. Each manual site is listed in the cover letter of the series with its
//!    routing target (non-easy series first), else of the easy series with a
//!    patch for its subsystem; a site of an area no series covers is left
//!    to the report.
//! 7. A fix unit (pinned pages released with `put_page()`) is a series of
//!    its own, `fixes-<area>`, placed before every conversion series, so
//!    that it can go to stable kernels without them.
//! 8. Every patch and cover letter also goes to the MAINTAINERS section
//!    owning the API being converted (the one matching `mm/gup.c`), in Cc:;
//!    a patch whose sections name no maintainer is sent To: its lists.

use super::input::{Class, Edit, Facts, ManualSite, Unit};
use super::maintainers::{Maintainers, Subsystem};
use super::message::{self, BodyFacts, WRAP};
use super::voice::{self, Voice};
use super::{text, Cover, FileChange, Patch, PlanOptions, Series, SeriesError, SourceTree};
use std::collections::BTreeMap;

/// The file whose MAINTAINERS section owns the API being converted.
const API_FILE: &str = "mm/gup.c";

/// The name of the fix series for a release in `path`: `fixes-<area>`,
/// from the path table (never from history, so that `check` can name it).
pub fn fix_series_name(path: &str) -> String {
    format!("fixes-{}", slug(&message::table_prefix(path)))
}

type RoutingKey = (Option<String>, Vec<String>);

/// A file's subject prefix and what its history says of the capital
/// letter after it (`voice::capitalised_in_history`).
#[derive(Clone)]
struct FilePrefix {
    prefix: String,
    capitalised: Option<bool>,
}

/// The prefixes of the files met so far, by path.
type PrefixCache = BTreeMap<String, FilePrefix>;

/// A unit with the facts grouping needs.
struct Placed<'a> {
    unit: &'a Unit,
    subsystem: Option<Subsystem>,
}

/// A patch before recipients and numbering.
struct Draft {
    prefix: String,
    voice: Voice,
    subsystem: String,
    section: Option<usize>,
    units: Vec<usize>,
}

/// Builds the series; see the module header for the rules.
pub(crate) fn build(
    units: &[Unit],
    manual: &[ManualSite],
    tree: &SourceTree,
    maintainers: &Maintainers,
    opts: &PlanOptions,
) -> Result<Vec<Series>, SeriesError> {
    let placed: Vec<Placed> = units
        .iter()
        .map(|u| {
            let first = u.edits.iter().map(|(p, _)| p.as_str()).min();
            Placed {
                unit: u,
                subsystem: first.and_then(|f| maintainers.subsystem(f)),
            }
        })
        .collect();

    // Series buckets keyed by class and, outside `easy`, routing key.
    let mut buckets: BTreeMap<(Class, Option<RoutingKey>), Vec<usize>> = BTreeMap::new();
    for (i, p) in placed.iter().enumerate() {
        if p.unit.edits.is_empty() || p.unit.fix.is_some() {
            continue;
        }
        let key = match p.unit.class {
            Class::Easy => None,
            _ => Some(
                p.subsystem
                    .as_ref()
                    .map(|s| s.routing_key())
                    .unwrap_or((None, Vec::new())),
            ),
        };
        buckets.entry((p.unit.class, key)).or_default().push(i);
    }

    let mut prefix_cache = PrefixCache::new();
    let mut series = Vec::new();
    let mut used_names: Vec<String> = Vec::new();
    let mut fixes = Vec::new();
    for (i, p) in placed.iter().enumerate() {
        if p.unit.fix.is_some() && !p.unit.edits.is_empty() {
            let mut s = fix_series(i, &placed, tree, maintainers, opts, &mut prefix_cache)?;
            let base = s.name.clone();
            let mut n = 2;
            while used_names.contains(&s.name) {
                s.name = format!("{base}-{n}");
                n += 1;
            }
            used_names.push(s.name.clone());
            fixes.push(s);
        }
    }
    for ((class, key), members) in buckets {
        let drafts = drafts_for(&members, &placed, tree, opts, &mut prefix_cache);
        let all_files = sorted_files(members.iter().map(|&i| placed[i].unit));
        let area = area_prefix(&all_files);
        let mut name = match class {
            Class::Easy => "easy".to_string(),
            _ => format!("{}-{}", class.name(), slug(&area)),
        };
        if used_names.contains(&name) {
            let title = drafts
                .first()
                .map(|d| slug(&d.subsystem))
                .unwrap_or_default();
            name = format!("{name}-{title}");
            let base = name.clone();
            let mut n = 2;
            while used_names.contains(&name) {
                name = format!("{base}-{n}");
                n += 1;
            }
        }
        used_names.push(name.clone());

        series.extend(split_into_series(
            &name,
            class,
            &key,
            &area,
            &drafts,
            &placed,
            tree,
            maintainers,
            opts,
        )?);
    }

    // Manual sites go to the cover letter of the series covering their area.
    let mut sites: Vec<ManualSite> = manual.to_vec();
    sites.sort();
    for site in sites {
        let sub = maintainers.subsystem(&site.path);
        let rk = sub.as_ref().map(|s| s.routing_key());
        let sec = sub.as_ref().map(|s| s.index);
        let by_key = series
            .iter()
            .position(|p| p.series.class != Class::Easy && p.key.is_some() && p.key == rk);
        let by_section = || {
            series
                .iter()
                .position(|p| sec.is_some() && p.sections.contains(&sec))
        };
        // A site no series covers stays in the report only.
        if let Some(i) = by_key.or_else(by_section) {
            series[i].series.manual.push(site);
        }
    }

    let mut out = Vec::new();
    for Pending {
        series: mut s,
        area,
        part,
        voice: series_voice,
        ..
    } in series
    {
        s.cover = make_cover(&s, &area, part, series_voice, tree, maintainers, opts);
        if s.patches.len() == 1 {
            s.patches[0].notes = single_patch_notes(&s, tree, opts);
        }
        out.push(s);
    }
    out.sort_by(|a, b| (a.class, &a.name).cmp(&(b.class, &b.name)));
    fixes.sort_by(|a, b| a.name.cmp(&b.name));
    fixes.extend(out);
    Ok(fixes)
}

/// A series before its cover letter, with what placing manual sites and
/// writing the cover need.
struct Pending {
    series: Series,
    key: Option<RoutingKey>,
    sections: Vec<Option<usize>>,
    area: String,
    part: Option<(usize, usize)>,
    voice: Voice,
}

/// The series of one bucket's drafts: one patch per draft, at most
/// `max_patches` per series (parts named `-1`, `-2`...).
#[allow(clippy::too_many_arguments)]
fn split_into_series(
    name: &str,
    class: Class,
    key: &Option<RoutingKey>,
    area: &str,
    drafts: &[Draft],
    placed: &[Placed],
    tree: &SourceTree,
    maintainers: &Maintainers,
    opts: &PlanOptions,
) -> Result<Vec<Pending>, SeriesError> {
    let mut out = Vec::new();
    let mut patches = Vec::new();
    for d in drafts {
        patches.push(make_patch(d, placed, tree, maintainers, opts)?);
    }
    let max = opts.max_patches.max(1);
    let parts = patches.len().div_ceil(max);
    let tree_name = key.as_ref().and_then(|k| k.0.clone());
    for (k, (chunk, chunk_drafts)) in patches.chunks(max).zip(drafts.chunks(max)).enumerate() {
        let chunk = chunk.to_vec();
        let secs: Vec<Option<usize>> = chunk_drafts.iter().map(|d| d.section).collect();
        // The series speaks as its patches do when they all agree.
        let series_voice = Voice {
            capitalised: chunk_drafts.iter().all(|d| d.voice.capitalised),
            networking: chunk_drafts.iter().all(|d| d.voice.networking),
        };
        let part_name = if parts > 1 {
            format!("{name}-{}", k + 1)
        } else {
            name.to_string()
        };
        let part = if parts > 1 {
            Some((k + 1, parts))
        } else {
            None
        };
        let s_tree = if class == Class::Easy {
            common_tree(&chunk, &secs, placed)
        } else {
            tree_name.clone()
        };
        out.push(Pending {
            series: Series {
                name: part_name,
                fix: false,
                class,
                tree: s_tree,
                tag: series_voice
                    .networking
                    .then(|| voice::networking_tree(false).to_string()),
                cover: Cover {
                    subject: String::new(),
                    body: String::new(),
                    to: vec![],
                    cc: vec![],
                    base_commit: None,
                },
                patches: chunk,
                manual: Vec::new(),
            },
            key: key.clone(),
            sections: secs,
            area: area.to_string(),
            part,
            voice: series_voice,
        });
    }
    Ok(out)
}

/// The one-patch series repairing the mismatch of unit `i`.
fn fix_series(
    i: usize,
    placed: &[Placed],
    tree: &SourceTree,
    maintainers: &Maintainers,
    opts: &PlanOptions,
    cache: &mut PrefixCache,
) -> Result<Series, SeriesError> {
    let unit = placed[i].unit;
    let fix = unit.fix.as_ref().expect("a fix unit");
    let files = sorted_files(std::iter::once(unit));
    let (prefix, voice) = patch_voice(&files, placed[i].subsystem.as_ref(), tree, opts, cache);
    let fixes = tree.blame_line(&fix.acquire.at.path, fix.acquire.at.line);
    let body = message::fix_body(fix, &unit.facts, fixes.as_ref(), opts.signoff.as_ref());
    let subsystem = placed[i]
        .subsystem
        .as_ref()
        .map(|s| s.title.clone())
        .unwrap_or_else(|| "THE REST".into());
    let mut patch = Patch {
        subject: message::subject_from(
            &prefix,
            &message::fix_summaries(fix, &unit.facts.pages)
                .iter()
                .map(|s| voice::summary_in(voice, s))
                .collect::<Vec<_>>(),
        ),
        body,
        notes: String::new(),
        to: Vec::new(),
        cc: Vec::new(),
        files: read_files(&[i], placed, tree)?,
        subsystem,
        summaries: vec![unit.summary.clone()],
        acquire_sites: 0,
        release_sites: unit.release_sites,
        rules: unit.rule_ids.clone(),
    };
    let mut notes = String::new();
    if fixes.is_none() {
        notes.push_str(&message::wrap(
            &format!(
                "No Fixes: tag: {} has no history for {}, the acquire the fix is about.",
                if tree.base_commit().is_some() {
                    "the repository"
                } else {
                    "the tree is not a git repository and"
                },
                fix.acquire.at
            ),
            WRAP,
            "",
            "",
        ));
    }
    if let Some(release) = tree.kernel_release() {
        notes.push_str(&format!(
            "Against Linux {release}.
"
        ));
    }
    notes.push_str(&generated_by(&patch.rules));
    patch.notes = notes;
    set_recipients(&mut patch, maintainers);
    let first = &files[0];
    Ok(Series {
        name: fix_series_name(first),
        fix: true,
        class: unit.class,
        tree: placed[i]
            .subsystem
            .as_ref()
            .and_then(|s| s.tree().map(String::from)),
        tag: voice
            .networking
            .then(|| voice::networking_tree(true).to_string()),
        cover: Cover {
            subject: patch.subject.clone(),
            body: String::new(),
            to: patch.to.clone(),
            cc: patch.cc.clone(),
            base_commit: tree.base_commit(),
        },
        patches: vec![patch],
        manual: Vec::new(),
    })
}

/// The `Generated by:` lines of some rules, one per rule.
fn generated_by(rules: &[String]) -> String {
    let mut rules = rules.to_vec();
    rules.sort();
    rules.dedup();
    rules
        .iter()
        .map(|r| format!("Generated by: pinpatch rule {r}\n"))
        .collect()
}

/// To: get_maintainer.pl's maintainers, or its lists when the patch's
/// sections name none; Cc: the rest, plus the section owning the API.
fn set_recipients(patch: &mut Patch, maintainers: &Maintainers) {
    let r = maintainers.recipients_for_patch(&text::patch_text_for_recipients(patch));
    let mut to = r.to();
    let mut cc = r.cc();
    if to.is_empty() {
        let lists: Vec<String> = r
            .entries
            .iter()
            .filter(|e| e.role == super::maintainers::Role::List)
            .map(|e| e.address.clone())
            .collect();
        cc.retain(|a| !lists.contains(a));
        to = lists;
    }
    for a in maintainers
        .recipients_for_files(&[API_FILE.to_string()])
        .all()
    {
        if !to.contains(&a) && !cc.contains(&a) {
            cc.push(a);
        }
    }
    patch.to = to;
    patch.cc = cc;
}

/// One draft per subsystem of a series' units, merged by equal prefix and sorted.
fn drafts_for(
    members: &[usize],
    placed: &[Placed],
    tree: &SourceTree,
    opts: &PlanOptions,
    cache: &mut PrefixCache,
) -> Vec<Draft> {
    let mut by_section: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    for &i in members {
        by_section
            .entry(placed[i].subsystem.as_ref().map(|s| s.index))
            .or_default()
            .push(i);
    }
    let mut drafts: Vec<Draft> = Vec::new();
    for (section, units) in by_section {
        let files = sorted_files(units.iter().map(|&i| placed[i].unit));
        let subsystem_of = placed[units[0]].subsystem.as_ref();
        let (prefix, voice) = patch_voice(&files, subsystem_of, tree, opts, cache);
        let subsystem = placed[units[0]]
            .subsystem
            .as_ref()
            .map(|s| s.title.clone())
            .unwrap_or_else(|| "THE REST".into());
        match drafts.iter_mut().find(|d| d.prefix == prefix) {
            Some(d) => d.units.extend(units),
            None => drafts.push(Draft {
                prefix,
                voice,
                subsystem,
                section,
                units,
            }),
        }
    }
    for d in &mut drafts {
        d.units.sort_unstable();
    }
    drafts.sort_by(|a, b| {
        let fa = sorted_files(a.units.iter().map(|&i| placed[i].unit));
        let fb = sorted_files(b.units.iter().map(|&i| placed[i].unit));
        (&a.prefix, fa).cmp(&(&b.prefix, fb))
    });
    drafts
}

fn file_prefix(
    path: &str,
    tree: &SourceTree,
    opts: &PlanOptions,
    cache: &mut PrefixCache,
) -> FilePrefix {
    if let Some(p) = cache.get(path) {
        return p.clone();
    }
    let subjects = if opts.history_depth > 0 {
        tree.history_subjects(path, opts.history_depth)
    } else {
        Vec::new()
    };
    let p = FilePrefix {
        prefix: message::prefix_from_subjects(subjects.iter().map(String::as_str))
            .unwrap_or_else(|| message::table_prefix(path)),
        capitalised: voice::capitalised_in_history(subjects.iter().map(String::as_str)),
    };
    cache.insert(path.to_string(), p.clone());
    p
}

/// The prefix of a patch over `files` (in sorted order) and its voice: the
/// files' history decides the capital letter when most of the files that
/// have one agree, else the subsystem's documents do.
fn patch_voice(
    files: &[String],
    subsystem: Option<&Subsystem>,
    tree: &SourceTree,
    opts: &PlanOptions,
    cache: &mut PrefixCache,
) -> (String, Voice) {
    let per_file: Vec<FilePrefix> = files
        .iter()
        .map(|f| file_prefix(f, tree, opts, cache))
        .collect();
    let prefixes: Vec<String> = per_file.iter().map(|p| p.prefix.clone()).collect();
    let prefix = message::choose_prefix(&prefixes);
    let (upper, lower) = per_file
        .iter()
        .fold((0, 0), |(u, l), p| match p.capitalised {
            Some(true) => (u + 1, l),
            Some(false) => (u, l + 1),
            None => (u, l),
        });
    let history = (upper + lower > 0 && upper != lower).then_some(upper > lower);
    let voice = voice::voice_of(subsystem, &prefix, history);
    (prefix, voice)
}

fn sorted_files<'a>(units: impl Iterator<Item = &'a Unit>) -> Vec<String> {
    let mut files: Vec<String> = units
        .flat_map(|u| u.edits.iter().map(|(p, _)| p.clone()))
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Reads the original files of some units and applies their edits.
fn read_files(
    units: &[usize],
    placed: &[Placed],
    tree: &SourceTree,
) -> Result<Vec<FileChange>, SeriesError> {
    let mut edits: BTreeMap<&str, Vec<Edit>> = BTreeMap::new();
    for &i in units {
        for (path, e) in &placed[i].unit.edits {
            edits.entry(path.as_str()).or_default().push(e.clone());
        }
    }
    let mut files = Vec::new();
    for (path, mut es) in edits {
        let (before, mode) = tree.read(path)?;
        es.sort_by_key(|e| (e.start, e.end));
        let mut pos = 0;
        for e in &es {
            if e.start < pos || e.start > e.end || e.end > before.len() {
                return Err(SeriesError::BadEdit {
                    path: path.into(),
                    start: e.start,
                    end: e.end,
                });
            }
            pos = e.end;
        }
        let after = super::input::apply_edits(&before, &es);
        files.push(FileChange {
            path: path.to_string(),
            before,
            after,
            mode,
        });
    }
    Ok(files)
}

/// Reads, edits and describes the files of one draft.
fn make_patch(
    d: &Draft,
    placed: &[Placed],
    tree: &SourceTree,
    maintainers: &Maintainers,
    opts: &PlanOptions,
) -> Result<Patch, SeriesError> {
    let (mut acquire, mut release) = (0, 0);
    let mut summaries = Vec::new();
    let mut rules = Vec::new();
    let mut facts: Vec<&Facts> = Vec::new();
    for &i in &d.units {
        let u = placed[i].unit;
        acquire += u.acquire_sites;
        release += u.release_sites;
        summaries.push(u.summary.clone());
        rules.extend(u.rule_ids.iter().cloned());
        facts.push(&u.facts);
    }
    summaries.sort();
    rules.sort();
    rules.dedup();
    let files = read_files(&d.units, placed, tree)?;
    let body = message::patch_body(&BodyFacts {
        target: opts.target,
        units: &facts,
        signoff: opts.signoff.as_ref(),
    });
    let acquires: Vec<_> = facts.iter().flat_map(|f| &f.acquires).collect();
    let releases: Vec<_> = facts.iter().flat_map(|f| &f.releases).collect();
    let mut patch = Patch {
        subject: message::subject_from(
            &d.prefix,
            &message::summary_texts(&acquires, &releases)
                .iter()
                .map(|s| voice::summary_in(d.voice, s))
                .collect::<Vec<_>>(),
        ),
        body,
        notes: String::new(),
        to: Vec::new(),
        cc: Vec::new(),
        files,
        subsystem: d.subsystem.clone(),
        summaries,
        acquire_sites: acquire,
        release_sites: release,
        rules,
    };
    set_recipients(&mut patch, maintainers);
    Ok(patch)
}

/// The tree of an easy series part when all its patches' subsystems share one.
fn common_tree(_patches: &[Patch], secs: &[Option<usize>], placed: &[Placed]) -> Option<String> {
    let mut trees = secs.iter().map(|s| {
        placed
            .iter()
            .find(|p| p.subsystem.as_ref().map(|x| x.index) == *s)
            .and_then(|p| p.subsystem.as_ref()?.tree().map(String::from))
    });
    let first = trees.next()??;
    trees
        .all(|t| t.as_deref() == Some(first.as_str()))
        .then_some(first)
}

/// The subject prefix of the deepest directory holding all `files`.
fn area_prefix(files: &[String]) -> String {
    if files.len() == 1 {
        return message::table_prefix(&files[0]);
    }
    let dirs: Vec<Vec<&str>> = files
        .iter()
        .map(|f| {
            let mut parts: Vec<&str> = f.split('/').collect();
            parts.pop();
            parts
        })
        .collect();
    let mut common: Vec<&str> = dirs.first().cloned().unwrap_or_default();
    for d in &dirs[1..] {
        let n = common.iter().zip(d).take_while(|(a, b)| a == b).count();
        common.truncate(n);
    }
    if common.is_empty() {
        return "treewide".into();
    }
    // A placeholder file name makes every real component a directory.
    let p = message::path_prefix(&format!("{}/x", common.join("/")));
    p.strip_suffix("/x").map(str::to_string).unwrap_or(p)
}

/// Lowercase letters and digits, other runs turned into one `-`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn make_cover(
    s: &Series,
    area: &str,
    part: Option<(usize, usize)>,
    series_voice: Voice,
    tree: &SourceTree,
    maintainers: &Maintainers,
    opts: &PlanOptions,
) -> Cover {
    let prefix = if s.class == Class::Easy && s.patches.len() > 1 {
        "treewide"
    } else {
        area
    };
    let summary = voice::summary_in(series_voice, &cover_summary(s, opts.target));
    let mut subject = message::subject(prefix, &summary);
    if let Some((k, n)) = part {
        let with_part = format!("{subject} (part {k}/{n})");
        if with_part.len() <= WRAP {
            subject = with_part;
        }
    }
    let mut to: Vec<String> = Vec::new();
    let mut cc: Vec<String> = Vec::new();
    for p in &s.patches {
        for a in &p.to {
            if !to.contains(a) {
                to.push(a.clone());
            }
        }
    }
    for p in &s.patches {
        for a in &p.cc {
            if !to.contains(a) && !cc.contains(a) {
                cc.push(a.clone());
            }
        }
    }

    let mut body = message::wrap(&message::rationale(opts.target), WRAP, "", "");
    body.push('\n');
    let independent = if s.class == Class::Easy {
        "The patches are independent of each other: each converts one subsystem and can be applied through that subsystem's tree."
    } else {
        "Each patch converts one flow as a whole and can be applied on its own."
    };
    body.push_str(&message::wrap(independent, WRAP, "", ""));
    let trees: Vec<(usize, String)> = s
        .patches
        .iter()
        .enumerate()
        .map(|(i, p)| (i + 1, patch_tree(p, maintainers)))
        .collect();
    let mut by_tree: Vec<(String, Vec<usize>)> = Vec::new();
    for (n, t) in trees {
        match by_tree.iter_mut().find(|(x, _)| *x == t) {
            Some((_, v)) => v.push(n),
            None => by_tree.push((t, vec![n])),
        }
    }
    for (t, ns) in &by_tree {
        let list: Vec<String> = ns.iter().map(|n| n.to_string()).collect();
        let line = format!(
            "{} {}: {t}",
            if ns.len() == 1 { "patch" } else { "patches" },
            list.join(", ")
        );
        body.push_str(&message::wrap(&line, WRAP, "  ", "    "));
    }
    if let Some((k, n)) = part {
        let note = format!(
            "This is part {k} of {n}: the conversion was split because at most {} patches should be posted at once.",
            opts.max_patches
        );
        body.push('\n');
        body.push_str(&message::wrap(&note, WRAP, "", ""));
    }
    if !s.manual.is_empty() {
        body.push('\n');
        body.push_str(&manual_text(&s.manual));
    }
    body.push('\n');
    if let Some(release) = tree.kernel_release() {
        body.push_str(&format!("The patches are against Linux {release}.\n"));
    }
    let rules: Vec<String> = s.patches.iter().flat_map(|p| p.rules.clone()).collect();
    body.push_str(&generated_by(&rules));
    Cover {
        subject,
        body,
        to,
        cc,
        base_commit: tree.base_commit(),
    }
}

/// The summary of a cover subject: the common conversion of its patches,
/// else the target's conversion in general.
fn cover_summary(s: &Series, target: super::input::Target) -> String {
    let mut summaries: Vec<&str> = s
        .patches
        .iter()
        .filter_map(|p| p.subject.split_once(": convert ").map(|(_, x)| x))
        .collect();
    summaries.sort_unstable();
    summaries.dedup();
    match summaries.as_slice() {
        [one] => format!("convert {one}"),
        _ => match target {
            super::input::Target::Unpin => "convert get_user_pages*() --> pin_user_pages*()".into(),
            super::input::Target::PutUserPage => "convert put_page() --> put_user_page*()".into(),
        },
    }
}

/// Where a patch goes: its section's tree, else its maintainers.
fn patch_tree(p: &Patch, maintainers: &Maintainers) -> String {
    let sub = p.files.first().and_then(|f| maintainers.subsystem(&f.path));
    match sub {
        Some(s) => match s.tree() {
            Some(t) => format!("{} ({t})", s.title),
            None => s.title,
        },
        None => "THE REST (no subsystem tree)".into(),
    }
}

/// The kind of a reason, for grouping: its first clause without the
/// places, quoted code and C names it mentions.
fn reason_kind(reason: &str) -> String {
    let first = reason.split("; ").next().unwrap_or(reason);
    let mut out = String::new();
    let mut depth = 0;
    let mut quoted = false;
    for c in first.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = (depth as i32 - 1).max(0) as usize,
            '`' => quoted = !quoted,
            _ if depth == 0 && !quoted => out.push(c),
            _ => {}
        }
    }
    let out = out.split([':', ',']).next().unwrap_or("").to_string();
    let words: Vec<&str> = out
        .split_whitespace()
        .filter(|w| !w.contains('_') && !w.contains('/') && !w.contains('*'))
        .collect();
    let kind = words.join(" ");
    if kind.is_empty() {
        "other".into()
    } else {
        kind
    }
}

/// Sites left for a human, grouped by the kind of reason with counts, at
/// most three sites named per group.
fn manual_text(manual: &[ManualSite]) -> String {
    let mut groups: Vec<(String, Vec<&ManualSite>)> = Vec::new();
    for m in manual {
        let k = reason_kind(&m.reason);
        match groups.iter_mut().find(|(x, _)| *x == k) {
            Some((_, v)) => v.push(m),
            None => groups.push((k, vec![m])),
        }
    }
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let mut out = format!(
        "Left for a human in this area ({}):\n",
        plural(manual.len(), "site", "sites")
    );
    for (kind, sites) in &groups {
        out.push_str(&message::wrap(
            &format!("{kind} ({}):", sites.len()),
            WRAP,
            "  ",
            "    ",
        ));
        for m in sites.iter().take(3) {
            let first = m.reason.split("; ").next().unwrap_or("");
            let line = format!("{}:{} {}(): {first}", m.path, m.line, m.function);
            out.push_str(&message::wrap(&line, WRAP, "    ", "      "));
        }
        if sites.len() > 3 {
            out.push_str(&format!("    and {} more\n", sites.len() - 3));
        }
    }
    out
}

/// What a one-patch series says below its `---` line instead of a cover
/// letter: the sites left for a human, the release and the rules.
fn single_patch_notes(s: &Series, tree: &SourceTree, _opts: &PlanOptions) -> String {
    let mut notes = String::new();
    if !s.manual.is_empty() {
        notes.push_str(&manual_text(&s.manual));
    }
    if let Some(release) = tree.kernel_release() {
        notes.push_str(&format!("Against Linux {release}.\n"));
    }
    notes.push_str(&generated_by(&s.patches[0].rules));
    notes
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_of_sibling_drivers() {
        let f = |v: &[&str]| area_prefix(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            f(&[
                "drivers/infiniband/hw/qib/a.c",
                "drivers/infiniband/hw/hfi1/b.c"
            ]),
            "RDMA"
        );
        assert_eq!(
            f(&[
                "drivers/gpu/drm/amd/amdgpu/a.c",
                "drivers/gpu/drm/amd/amdkfd/b.c"
            ]),
            "drm/amd"
        );
        assert_eq!(f(&["fs/fuse/dev.c"]), "fuse");
        assert_eq!(f(&["fs/a.c", "mm/b.c"]), "treewide");
        assert_eq!(slug("drm/amd"), "drm-amd");
    }
}
