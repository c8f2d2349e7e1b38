//! Writes one format-patch file per given file of a kernel tree, with a
//! small real edit, and prints the recipients pinpatch computes for it.
//!
//! Used by `bench/maintainers-compare.sh`, which runs get_maintainer.pl on
//! the same files and compares. For every input path it writes
//! `OUT/<n>.patch` (the mail without To:/Cc: headers, which is what
//! get_maintainer.pl is given), `OUT/<n>.ours` (our addresses in
//! get_maintainer.pl's order) and `OUT/<n>.tocc` (the patch's To: then Cc:,
//! without the addresses of the mm/gup.c section every patch also goes to).

use pinpatch::series::input::{Class, Edit, Target, Unit};
use pinpatch::series::maintainers::Maintainers;
use pinpatch::series::text::{patch_mail, MailContext};
use pinpatch::series::{plan, Identity, PlanOptions, SourceTree};
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: series_compare TREE OUT FILE...");
        std::process::exit(2);
    }
    let tree_root = PathBuf::from(&args[0]);
    let out = PathBuf::from(&args[1]);
    std::fs::create_dir_all(&out).expect("create output directory");
    let maintainers = Maintainers::load(&tree_root).expect("load MAINTAINERS");
    let tree = SourceTree::open(&tree_root, None).expect("open tree");
    let opts = PlanOptions {
        target: Target::Unpin,
        history_depth: 0,
        ..PlanOptions::default()
    };
    let author = Identity {
        name: "Pin Patch".into(),
        email: "pinpatch@example.org".into(),
    };
    let ctx = MailContext {
        author: &author,
        date: 946_684_800,
        with_recipients: false,
    };
    for (n, file) in args[2..].iter().enumerate() {
        let (bytes, _) = tree.read(file).expect("read file");
        let edit = match find(&bytes, b"put_page(") {
            Some(p) => Edit {
                start: p,
                end: p + 9,
                text: b"unpin_user_page(".to_vec(),
            },
            None => Edit {
                start: 0,
                end: 0,
                text: b"/* pinpatch */\n".to_vec(),
            },
        };
        let unit = Unit {
            class: Class::Easy,
            rule_ids: vec!["bench".into()],
            edits: vec![(file.clone(), edit)],
            acquire_sites: 1,
            release_sites: 1,
            summary: format!("{file}: bench edit"),
            facts: Default::default(),
            fix: None,
        };
        let series = plan(&[unit], &[], &tree, &maintainers, &opts).expect("plan");
        let patch = &series[0].patches[0];
        let mail = patch_mail(patch, series[0].tag.as_deref(), 1, 1, &ctx);
        std::fs::write(out.join(format!("{n}.patch")), &mail).expect("write patch");
        let ours = maintainers.recipients_for_patch(&mail).all();
        std::fs::write(out.join(format!("{n}.ours")), lines(&ours)).expect("write");
        // Every patch also goes to the section owning mm/gup.c; those
        // addresses are not get_maintainer.pl's for the file.
        let api = maintainers
            .recipients_for_files(&["mm/gup.c".to_string()])
            .all();
        let tocc: Vec<String> = patch
            .to
            .iter()
            .chain(&patch.cc)
            .filter(|a| ours.contains(a) || !api.contains(a))
            .cloned()
            .collect();
        std::fs::write(out.join(format!("{n}.tocc")), lines(&tocc)).expect("write");
    }
}

fn lines(v: &[String]) -> String {
    v.iter().map(|s| format!("{s}\n")).collect()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
