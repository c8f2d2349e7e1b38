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
//!    patch for its subsystem, else of the first series.

use super::input::{Class, Edit, ManualSite, Unit};
use super::maintainers::{Maintainers, Subsystem};
use super::message::{self, BodyFacts, WRAP};
use super::{text, Cover, FileChange, Patch, PlanOptions, Series, SeriesError, SourceTree};
use std::collections::BTreeMap;

type RoutingKey = (Option<String>, Vec<String>);

/// A unit with the facts grouping needs.
struct Placed<'a> {
    unit: &'a Unit,
    subsystem: Option<Subsystem>,
}

/// A patch before recipients and numbering.
struct Draft {
    prefix: String,
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
        if p.unit.edits.is_empty() {
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

    let mut prefix_cache: BTreeMap<String, String> = BTreeMap::new();
    let mut series = Vec::new();
    let mut used_names: Vec<String> = Vec::new();
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

        let mut patches = Vec::new();
        let mut sections = Vec::new();
        for d in &drafts {
            patches.push(make_patch(d, &placed, tree, maintainers, opts)?);
            sections.push(d.section);
        }
        let max = opts.max_patches.max(1);
        let parts = patches.len().div_ceil(max);
        let tree_name = key.as_ref().and_then(|k| k.0.clone());
        let mut chunks_p = patches.chunks(max).map(|c| c.to_vec()).collect::<Vec<_>>();
        let chunks_s = sections.chunks(max).map(|c| c.to_vec()).collect::<Vec<_>>();
        for (k, (chunk, secs)) in chunks_p.drain(..).zip(chunks_s).enumerate() {
            let part_name = if parts > 1 {
                format!("{name}-{}", k + 1)
            } else {
                name.clone()
            };
            let part = if parts > 1 {
                Some((k + 1, parts))
            } else {
                None
            };
            let s_tree = if class == Class::Easy {
                common_tree(&chunk, &secs, &placed)
            } else {
                tree_name.clone()
            };
            series.push((
                Series {
                    name: part_name,
                    class,
                    tree: s_tree,
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
                key.clone(),
                secs,
                area.clone(),
                part,
            ));
        }
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
            .position(|(s, k, _, _, _)| s.class != Class::Easy && k.is_some() && *k == rk);
        let by_section = || {
            series
                .iter()
                .position(|(_, _, secs, _, _)| sec.is_some() && secs.contains(&sec))
        };
        if let Some(i) =
            by_key
                .or_else(by_section)
                .or(if series.is_empty() { None } else { Some(0) })
        {
            series[i].0.manual.push(site);
        }
    }

    let mut out = Vec::new();
    for (mut s, _, _, area, part) in series {
        s.cover = make_cover(&s, &area, part, tree, opts);
        out.push(s);
    }
    out.sort_by(|a, b| (a.class, &a.name).cmp(&(b.class, &b.name)));
    Ok(out)
}

/// One draft per subsystem of a series' units, merged by equal prefix and sorted.
fn drafts_for(
    members: &[usize],
    placed: &[Placed],
    tree: &SourceTree,
    opts: &PlanOptions,
    cache: &mut BTreeMap<String, String>,
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
        let per_file: Vec<String> = files
            .iter()
            .map(|f| file_prefix(f, tree, opts, cache))
            .collect();
        let prefix = message::choose_prefix(&per_file);
        let subsystem = placed[units[0]]
            .subsystem
            .as_ref()
            .map(|s| s.title.clone())
            .unwrap_or_else(|| "THE REST".into());
        match drafts.iter_mut().find(|d| d.prefix == prefix) {
            Some(d) => d.units.extend(units),
            None => drafts.push(Draft {
                prefix,
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
    cache: &mut BTreeMap<String, String>,
) -> String {
    if let Some(p) = cache.get(path) {
        return p.clone();
    }
    let from_history = if opts.history_depth > 0 {
        let subjects = tree.history_subjects(path, opts.history_depth);
        message::prefix_from_subjects(subjects.iter().map(String::as_str))
    } else {
        None
    };
    let p = from_history.unwrap_or_else(|| message::path_prefix(path));
    cache.insert(path.to_string(), p.clone());
    p
}

fn sorted_files<'a>(units: impl Iterator<Item = &'a Unit>) -> Vec<String> {
    let mut files: Vec<String> = units
        .flat_map(|u| u.edits.iter().map(|(p, _)| p.clone()))
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Reads, edits and describes the files of one draft.
fn make_patch(
    d: &Draft,
    placed: &[Placed],
    tree: &SourceTree,
    maintainers: &Maintainers,
    opts: &PlanOptions,
) -> Result<Patch, SeriesError> {
    let mut edits: BTreeMap<&str, Vec<Edit>> = BTreeMap::new();
    let (mut acquire, mut release) = (0, 0);
    let mut summaries = Vec::new();
    let mut rules = Vec::new();
    for &i in &d.units {
        let u = placed[i].unit;
        for (path, e) in &u.edits {
            edits.entry(path.as_str()).or_default().push(e.clone());
        }
        acquire += u.acquire_sites;
        release += u.release_sites;
        summaries.push(u.summary.clone());
        rules.extend(u.rule_ids.iter().cloned());
    }
    summaries.sort();
    rules.sort();
    rules.dedup();
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
    let body = message::patch_body(&BodyFacts {
        target: opts.target,
        acquire_sites: acquire,
        release_sites: release,
        files: files.len(),
        summaries: &summaries,
        rule_ids: &rules,
        signoff: opts.signoff.as_ref(),
    });
    let mut patch = Patch {
        subject: message::subject(&d.prefix, opts.target),
        body,
        to: Vec::new(),
        cc: Vec::new(),
        files,
        subsystem: d.subsystem.clone(),
        summaries,
        acquire_sites: acquire,
        release_sites: release,
    };
    let r = maintainers.recipients_for_patch(&text::patch_text_for_recipients(&patch));
    patch.to = r.to();
    patch.cc = r.cc();
    Ok(patch)
}

/// The tree of an easy series part when all its patches' subsystems share one.
fn common_tree(_patches: &[Patch], secs: &[Option<usize>], placed: &[Placed]) -> Option<String> {
    let mut trees = secs.iter().map(|s| {
        placed
            .iter()
            .find(|p| p.subsystem.as_ref().map(|x| x.index) == *s)
            .and_then(|p| p.subsystem.as_ref()?.tree.clone())
    });
    let first = trees.next()??;
    trees
        .all(|t| t.as_deref() == Some(first.as_str()))
        .then_some(first)
}

/// The subject prefix of the deepest directory holding all `files`.
fn area_prefix(files: &[String]) -> String {
    if files.len() == 1 {
        return message::path_prefix(&files[0]);
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
    tree: &SourceTree,
    opts: &PlanOptions,
) -> Cover {
    let prefix = if s.class == Class::Easy && s.patches.len() > 1 {
        "treewide"
    } else {
        area
    };
    let mut subject = message::subject(prefix, opts.target);
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
    let acq: usize = s.patches.iter().map(|p| p.acquire_sites).sum();
    let rel: usize = s.patches.iter().map(|p| p.release_sites).sum();
    let files: usize = text::stat_rows(s.patches.iter().flat_map(|p| &p.files)).len();

    let mut body = message::wrap(&message::rationale(opts.target), WRAP, "", "");
    body.push('\n');
    let how = match s.class {
        Class::Easy => "Every conversion here is local and simple: the pages are acquired and released in the same function.",
        Class::Local => "The conversions here stay within one file but need more than a one-line change to review.",
        Class::CrossFile => "The conversions here follow page arrays across files, so each patch must be reviewed as a whole.",
        Class::Manual => "The conversions here were prepared for sites that need a careful manual review.",
    };
    let target = match &s.tree {
        Some(t) => format!(" The series is meant for {t}."),
        None => String::new(),
    };
    let plan = format!(
        "This series converts {} and {} in {}, with one patch per subsystem. {how}{target}",
        plural(acq, "acquisition", "acquisitions"),
        plural(rel, "release", "releases"),
        plural(files, "file", "files"),
    );
    body.push_str(&message::wrap(&plan, WRAP, "", ""));
    if let Some((k, n)) = part {
        body.push('\n');
        let note = format!(
            "This is part {k} of {n}: the conversion was split because at most {} patches should be posted at once.",
            opts.max_patches
        );
        body.push_str(&message::wrap(&note, WRAP, "", ""));
    }
    body.push('\n');
    for (i, p) in s.patches.iter().enumerate() {
        body.push_str(&format!(
            "{} {}\n",
            text::patch_tag(i + 1, s.patches.len()),
            p.subject
        ));
        for line in &p.summaries {
            body.push_str(&message::wrap(line, WRAP, "  ", "    "));
        }
    }
    body.push('\n');
    if s.manual.is_empty() {
        body.push_str("No sites in this area were left for manual conversion.\n");
    } else {
        body.push_str("Sites left for manual conversion:\n");
        for m in &s.manual {
            let line = format!("{}:{} {}(): {}", m.path, m.line, m.function, m.reason);
            body.push_str(&message::wrap(&line, WRAP, "  ", "    "));
        }
    }
    body.push('\n');
    let mut rules: Vec<String> = s
        .patches
        .iter()
        .flat_map(|p| {
            p.body
                .lines()
                .filter_map(|l| l.strip_prefix("Generated by: pinpatch rule "))
                .map(str::to_string)
        })
        .flat_map(|l| l.split(", ").map(str::to_string).collect::<Vec<_>>())
        .collect();
    rules.sort();
    rules.dedup();
    let note = format!(
        "The patches were generated by pinpatch (rules: {}); please review them like any other change.",
        rules.join(", ")
    );
    body.push_str(&message::wrap(&note, WRAP, "", ""));
    Cover {
        subject,
        body,
        to,
        cc,
        base_commit: tree.base_commit(),
    }
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
