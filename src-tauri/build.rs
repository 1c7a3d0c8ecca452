fn main() {
    // The Tauri config lives at the repository root (see docs/design/desktop.md).
    tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json"))
        .unwrap_or_else(|e| panic!("tauri build step failed: {e}"));
    // The app links SQLCipher statically; without this, WebKit in the same process would bind
    // to SQLCipher's sqlite3_* symbols instead of the system libsqlite3 (docs/design/desktop.md).
    println!("cargo:rustc-link-arg-bins=-Wl,--exclude-libs,ALL");
}
