//! Grouping without a MAINTAINERS file: by top-level directory pair.
//!
//! A tree without MAINTAINERS (a subtree, an out-of-tree module) still gets
//! one patch per area: every changed file belongs to the section of its
//! first two directory components (`drivers/infiniband`, `mm`, or the file
//! itself at the top). The sections are written as MAINTAINERS text and go
//! through the same parser as a real file, so grouping has one code path.
//! They name no maintainer, tree or list, so the patches have no recipients.

use std::collections::BTreeSet;

/// The area of a path: its first two directory components, its directory
/// when it has one, or the file itself at the top of the tree.
pub fn area_of(path: &str) -> &str {
    let dirs: Vec<usize> = path.match_indices('/').map(|(i, _)| i).collect();
    match dirs.as_slice() {
        [] => path,
        [one] => &path[..*one],
        [_, two, ..] => &path[..*two],
    }
}

/// MAINTAINERS text with one section per area of `paths`, and the areas in
/// order.
pub fn path_sections<'a>(paths: impl IntoIterator<Item = &'a str>) -> (String, Vec<String>) {
    let areas: BTreeSet<&str> = paths.into_iter().map(area_of).collect();
    let mut text = String::new();
    for area in &areas {
        let pattern = if area.ends_with(".c") || area.ends_with(".h") {
            area.to_string()
        } else {
            format!("{area}/")
        };
        text.push_str(&format!("{area}\nS:\tMaintained\nF:\t{pattern}\n\n"));
    }
    (text, areas.into_iter().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::maintainers::Maintainers;
    use std::path::Path;

    #[test]
    fn areas_are_directory_pairs() {
        assert_eq!(
            area_of("drivers/infiniband/hw/qib/qib.c"),
            "drivers/infiniband"
        );
        assert_eq!(area_of("mm/gup.c"), "mm");
        assert_eq!(area_of("top.c"), "top.c");
    }

    #[test]
    fn sections_route_each_file_to_its_area() {
        let (text, areas) = path_sections(["mm/gup.c", "drivers/gpu/drm/a.c", "x.c", "mm/b.c"]);
        assert_eq!(areas, ["drivers/gpu", "mm", "x.c"]);
        let m = Maintainers::parse(&[&text], "", Path::new("/nonexistent"));
        let title = |p: &str| m.subsystem(p).map(|s| s.title);
        assert_eq!(title("drivers/gpu/drm/a.c").as_deref(), Some("drivers/gpu"));
        assert_eq!(title("mm/b.c").as_deref(), Some("mm"));
        assert_eq!(title("x.c").as_deref(), Some("x.c"));
        assert!(m.subsystem("fs/y.c").is_none());
    }
}
