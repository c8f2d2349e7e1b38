//! Counts the function definitions of a tree's C files that the front end
//! (the macro pass, then tree-sitter-c) reads with a parse error inside,
//! as the analysis tells one (`FunctionDef::has_error`): it leaves them out.
//!
//! Used by `bench/parse-coverage.sh`. Reads the paths (relative to ROOT,
//! one per line) on standard input and prints one line of totals:
//! `files F functions N with-errors E files-with-errors G`. With `-v`, it
//! first prints each function that holds an error, as
//! `path:line: first error at LINE: KIND "TEXT"`, sorted by path and line.

use pinpatch::c::parse::parse;
use pinpatch::c::syntax::functions;
use rayon::prelude::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use tree_sitter::Node;

/// What one file holds: its functions, and one line per function with an
/// error.
struct FileCount {
    functions: usize,
    with_errors: Vec<String>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v");
    let Some(root) = args.iter().find(|a| *a != "-v").map(PathBuf::from) else {
        eprintln!("usage: parse_coverage [-v] ROOT < PATHS");
        std::process::exit(2);
    };
    let paths: Vec<String> = std::io::stdin()
        .lock()
        .lines()
        .map_while(Result::ok)
        .filter(|l| !l.is_empty())
        .collect();
    let counts: Vec<FileCount> = paths.par_iter().map(|rel| count(&root, rel)).collect();
    let functions: usize = counts.iter().map(|c| c.functions).sum();
    let with_errors: usize = counts.iter().map(|c| c.with_errors.len()).sum();
    let files_with_errors = counts.iter().filter(|c| !c.with_errors.is_empty()).count();
    if verbose {
        for line in counts.iter().flat_map(|c| &c.with_errors) {
            println!("{line}");
        }
    }
    println!(
        "files {} functions {functions} with-errors {with_errors} files-with-errors {files_with_errors}",
        paths.len()
    );
}

fn count(root: &Path, rel: &str) -> FileCount {
    let mut out = FileCount {
        functions: 0,
        with_errors: Vec::new(),
    };
    let Ok(bytes) = std::fs::read(root.join(rel)) else {
        eprintln!("{rel}: cannot be read");
        return out;
    };
    let Some(parsed) = parse(&bytes) else {
        eprintln!("{rel}: the parser returned no tree");
        return out;
    };
    // The definitions the analysis lists, with its test for a parse error
    // (a `;` tree-sitter supplied alone is none).
    for def in functions(parsed.tree.root_node()) {
        out.functions += 1;
        if def.has_error() {
            let at = parsed.line_of(def.node.start_byte());
            let first = first_error(def.node).map_or(String::new(), |e| {
                let end = e.end_byte().min(e.start_byte() + 60);
                let text =
                    String::from_utf8_lossy(&bytes[e.start_byte()..end]).replace('\n', "\\n");
                format!(
                    " first error at {}: {} {text:?}",
                    parsed.line_of(e.start_byte()),
                    e.kind()
                )
            });
            out.with_errors.push(format!("{rel}:{at}:{first}"));
        }
    }
    out
}

/// The first error or missing node under `node`, in source order.
fn first_error(node: Node) -> Option<Node> {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.is_error() || n.is_missing() {
            return Some(n);
        }
        let mut cursor = n.walk();
        let children: Vec<Node> = n.children(&mut cursor).filter(|c| c.has_error()).collect();
        stack.extend(children.into_iter().rev());
    }
    None
}
