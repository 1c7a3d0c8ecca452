//! The UI's TypeScript bindings (`ui/src/bindings.ts`) are what the Rust commands export: a
//! command or type changed in Rust without regenerating them fails here. `scripts/gen-bindings`
//! writes them (this test with DESK_WRITE_BINDINGS=1).

use std::path::PathBuf;

#[test]
fn committed_bindings_match_the_rust_commands() {
    let generated = desk_app::bindings::typescript().expect("export");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(desk_app::bindings::PATH);
    if std::env::var_os("DESK_WRITE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).expect("write bindings");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} differs from what the Rust commands export: run scripts/gen-bindings and commit it",
        desk_app::bindings::PATH
    );
}
