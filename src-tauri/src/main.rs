//! `secretariat-desk`: the desktop app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    desk_app::draw_without_gpu_compositing();
    let state = desk_app::AppState::from_env();
    match desk_app::build(tauri::Builder::default(), state, desk_app::context()) {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("error: Secretariat Desk could not start: {e}");
            std::process::exit(1);
        }
    }
}
