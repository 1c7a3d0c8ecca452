//! `secretariat-desk`: the desktop app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    draw_without_gpu_compositing();
    let state = desk_app::AppState::from_env();
    match desk_app::build(tauri::Builder::default(), state, desk_app::context()) {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("error: Secretariat Desk could not start: {e}");
            std::process::exit(1);
        }
    }
}

/// WebKitGTK composites pages with OpenGL, and without a GPU (a VM, a remote desktop, many
/// office laptops' fallback) Mesa does it in software: for this document-like UI that cost
/// ~150 MB in the web process and slower frames (`scripts/bench-app`, README "Benchmarks").
/// So the app draws without accelerated compositing unless `DESK_GPU=1`; a
/// `WEBKIT_DISABLE_COMPOSITING_MODE` the user set is left as it is. Set first thing, before
/// GTK, WebKit or any thread starts; WebKit's processes inherit it.
fn draw_without_gpu_compositing() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none()
        && std::env::var_os("DESK_GPU").is_none()
    {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}
