//! The TypeScript the UI is written against, generated from the commands' Rust signatures by
//! tauri-specta: `ui/src/bindings.ts`. Regenerate with `scripts/gen-bindings`; the test
//! `tests/bindings.rs` fails when the committed file differs from what this writes.

use specta_typescript::{BigIntExportBehavior, Typescript};

/// Where the bindings live, from the repository root.
pub const PATH: &str = "ui/src/bindings.ts";

/// The bindings as text.
pub fn typescript() -> Result<String, String> {
    let dir = tempdir()?;
    let file = dir.join("bindings.ts");
    crate::specta()
        .export(exporter(), &file)
        .map_err(|e| format!("cannot export the TypeScript bindings: {e}"))?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()));
    let _ = std::fs::remove_dir_all(&dir);
    text
}

fn exporter() -> Typescript {
    Typescript::default()
        .header("// Generated from the Rust commands by scripts/gen-bindings: do not edit.\n")
        // Counts and sizes are far below 2^53.
        .bigint(BigIntExportBehavior::Number)
}

fn tempdir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "desk-bindings-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}
