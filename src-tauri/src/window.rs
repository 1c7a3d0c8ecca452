//! The main window comes back at the size and place it was left: `window.json` beside the
//! replica, written when the window closes, read when the app starts. A missing or unreadable
//! file means the default size from tauri.conf.json; a saved place that is off every screen
//! now (a monitor unplugged) is not used.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tauri::{Manager, PhysicalPosition, PhysicalSize, Runtime, WebviewWindow};

const FILE: &str = "window.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub width: u32,
    pub height: u32,
    pub x: i32,
    pub y: i32,
    pub maximized: bool,
}

fn file(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

pub fn load(dir: &Path) -> Option<Placement> {
    let text = std::fs::read_to_string(file(dir)).ok()?;
    let p: Placement = serde_json::from_str(&text).ok()?;
    (p.width >= 400 && p.height >= 300).then_some(p)
}

pub fn save(dir: &Path, p: &Placement) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let text = serde_json::to_string(p).map_err(std::io::Error::other)?;
    let tmp = dir.join(format!("{FILE}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, file(dir))
}

/// Puts the window where it was left.
pub fn restore<R: Runtime>(w: &WebviewWindow<R>, dir: &Path) {
    let Some(p) = load(dir) else { return };
    let _ = w.set_size(PhysicalSize::new(p.width, p.height));
    let on_screen = w.available_monitors().unwrap_or_default().iter().any(|m| {
        let (pos, size) = (m.position(), m.size());
        p.x >= pos.x
            && p.y >= pos.y
            && p.x < pos.x + size.width as i32
            && p.y < pos.y + size.height as i32
    });
    if on_screen {
        let _ = w.set_position(PhysicalPosition::new(p.x, p.y));
    }
    if p.maximized {
        let _ = w.maximize();
    }
}

/// Notes where the window is, to come back there next time.
pub fn remember<R: Runtime>(w: &tauri::Window<R>) {
    let dir = w.state::<crate::AppState>().data_dir.clone();
    let maximized = w.is_maximized().unwrap_or(false);
    let (Ok(size), Ok(pos)) = (w.inner_size(), w.outer_position()) else {
        return;
    };
    let mut p = Placement {
        width: size.width,
        height: size.height,
        x: pos.x,
        y: pos.y,
        maximized,
    };
    if maximized {
        // Keep the size it had before, if one was saved: unmaximizing next time goes there.
        if let Some(old) = load(&dir) {
            p = Placement { maximized, ..old };
        }
    }
    if let Err(e) = save(&dir, &p) {
        eprintln!("note: could not remember the window's size: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_placement_comes_back_and_a_bad_one_is_ignored() {
        let dir = tempfile::tempdir().expect("tmp");
        assert_eq!(load(dir.path()), None);
        let p = Placement {
            width: 1400,
            height: 900,
            x: 40,
            y: 30,
            maximized: false,
        };
        save(dir.path(), &p).expect("save");
        assert_eq!(load(dir.path()), Some(p));
        std::fs::write(dir.path().join(FILE), "{not json").expect("write");
        assert_eq!(load(dir.path()), None);
        std::fs::write(
            dir.path().join(FILE),
            r#"{"width":10,"height":10,"x":0,"y":0,"maximized":false}"#,
        )
        .expect("write");
        assert_eq!(
            load(dir.path()),
            None,
            "a window too small to use is not restored"
        );
    }
}
