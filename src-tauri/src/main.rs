//! `secretariat-desk`: the desktop app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    draw_without_gpu_compositing();
    keep_javascript_small();
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
/// `WEBKIT_DISABLE_COMPOSITING_MODE` the user set is left as it is. Nothing is then handed
/// between processes as GPU buffers, so WebKit is also told not to prepare for it
/// (`WEBKIT_DISABLE_DMABUF_RENDERER`: ~4 MB less, app and web process together). Only with
/// compositing off: with it on, WebKitGTK 2.44+ has no way left to show a composited page
/// without DMA-BUF or its shared-memory stand-in. Set first thing, before GTK, WebKit or any
/// thread starts; WebKit's processes inherit it.
fn draw_without_gpu_compositing() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none()
        && std::env::var_os("DESK_GPU").is_none()
    {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
        if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
            std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
        }
    }
}

/// The page's JavaScript is a UI's: short handlers and list windows, never the long hot loops
/// JavaScriptCore's optimising tiers (DFG, then FTL) pay for, whose compilers and code held
/// ~7 MB of the web process after the benchmark's session (`scripts/bench-app`), with no
/// measure slower without them. So the web process runs the interpreter and the baseline JIT
/// only. (WebKit's "mini mode", a heap grown 1.27x between collections instead of 2x, saved
/// ~10 MB more but its collections landed in frames: a decision's capture went from p95 26 to
/// 41 ms; not taken.) Left as the user set it; set first thing, so WebKit's processes inherit
/// it.
fn keep_javascript_small() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("JSC_useDFGJIT").is_none() {
        std::env::set_var("JSC_useDFGJIT", "false");
    }
}
