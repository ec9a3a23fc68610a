//! The main window's size and position, remembered between runs.
//!
//! Saved as `window.json` in the app's data folder when the window closes, restored at start
//! only where it still makes sense: if the monitor it was on is gone (a laptop undocked) or
//! smaller now, the window is moved and shrunk onto the monitor that shows most of it, or the
//! first one, never left off screen. All in physical pixels, as the window system reports them.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The file's name in the app's data folder.
pub const FILE_NAME: &str = "window.json";

/// How much of the window's title bar must be on a monitor for the saved position to stand.
const MIN_VISIBLE: i64 = 100;

/// A rectangle on the desktop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    fn overlap(&self, other: &Rect) -> i64 {
        let w = (i64::from(self.x) + i64::from(self.width))
            .min(i64::from(other.x) + i64::from(other.width))
            - i64::from(self.x).max(i64::from(other.x));
        let h = (i64::from(self.y) + i64::from(self.height))
            .min(i64::from(other.y) + i64::from(other.height))
            - i64::from(self.y).max(i64::from(other.y));
        w.max(0) * h.max(0)
    }
}

/// What is remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowState {
    pub rect: Rect,
    pub maximized: bool,
}

/// Reads the saved state; a missing or broken file is no state.
pub fn load(dir: &Path) -> Option<WindowState> {
    let bytes = std::fs::read(dir.join(FILE_NAME)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Saves `state` (atomically, private to the user).
pub fn save(dir: &Path, state: &WindowState) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    pec_files::write_atomic(&dir.join(FILE_NAME), &bytes)
}

/// The window's minimum size in `tauri.conf.json`, in logical pixels.
pub const MIN_LOGICAL: (f64, f64) = (760.0, 540.0);

/// The minimum size in physical pixels at `scale`.
pub fn min_physical(scale: f64) -> (u32, u32) {
    // Far below u32::MAX for any real scale factor.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let px = |l: f64| (l * scale).round().max(1.0) as u32;
    (px(MIN_LOGICAL.0), px(MIN_LOGICAL.1))
}

/// Remembers the window as it closes. A maximized window keeps the last normal size on
/// record (the next start restores it under the maximized flag), so only the flag changes.
pub fn remember(dir: &Path, now: WindowState) -> std::io::Result<()> {
    let state = match (now.maximized, load(dir)) {
        (true, Some(previous)) => WindowState {
            rect: previous.rect,
            maximized: true,
        },
        _ => now,
    };
    pec_files::private_dir_all(dir)?;
    save(dir, &state)
}

/// Where to put the window, given the monitors now, or `None` to keep the default (no
/// monitor known). `min` is the window's minimum size.
pub fn restore(saved: &WindowState, monitors: &[Rect], min: (u32, u32)) -> Option<WindowState> {
    let r = saved.rect;
    // The monitor that shows most of the window, else the first (the primary).
    let best = monitors
        .iter()
        .max_by_key(|m| r.overlap(m))
        .filter(|m| r.overlap(m) > 0)
        .or(monitors.first())?;
    let width = r.width.clamp(min.0.min(best.width), best.width);
    let height = r.height.clamp(min.1.min(best.height), best.height);
    // The top strip (the title bar) must be reachable with the mouse.
    let title = Rect {
        x: r.x,
        y: r.y,
        width,
        height: 40.min(height),
    };
    let reachable = monitors
        .iter()
        .any(|m| title.overlap(m) >= MIN_VISIBLE * i64::from(title.height));
    let (x, y) = if reachable && width == r.width && height == r.height {
        (r.x, r.y)
    } else {
        // Centred on the chosen monitor.
        (
            best.x + i32::try_from((best.width - width) / 2).unwrap_or(0),
            best.y + i32::try_from((best.height - height) / 2).unwrap_or(0),
        )
    };
    Some(WindowState {
        rect: Rect {
            x,
            y,
            width,
            height,
        },
        maximized: saved.maximized,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAPTOP: Rect = Rect {
        x: 0,
        y: 0,
        width: 1366,
        height: 768,
    };
    const EXTERNAL: Rect = Rect {
        x: 1366,
        y: 0,
        width: 2560,
        height: 1440,
    };
    const MIN: (u32, u32) = (760, 540);

    fn at(x: i32, y: i32, width: u32, height: u32) -> WindowState {
        WindowState {
            rect: Rect {
                x,
                y,
                width,
                height,
            },
            maximized: false,
        }
    }

    #[test]
    fn a_window_on_a_monitor_still_there_comes_back_as_it_was() {
        let saved = at(1500, 100, 1300, 900);
        assert_eq!(restore(&saved, &[LAPTOP, EXTERNAL], MIN), Some(saved));
        let maximized = WindowState {
            maximized: true,
            ..at(10, 10, 1100, 700)
        };
        assert_eq!(restore(&maximized, &[LAPTOP], MIN), Some(maximized));
    }

    #[test]
    fn a_window_left_on_an_unplugged_monitor_moves_and_shrinks_onto_the_laptop() {
        let saved = at(1500, 100, 2000, 1200);
        let back = restore(&saved, &[LAPTOP], MIN).unwrap();
        assert_eq!(back.rect, LAPTOP);
        let small = restore(&at(3000, 200, 1100, 760), &[LAPTOP], MIN).unwrap();
        assert_eq!(
            small.rect,
            Rect {
                x: 133,
                y: 4,
                width: 1100,
                height: 760
            }
        );
    }

    #[test]
    fn a_title_bar_off_screen_is_brought_back() {
        let saved = at(-1050, -300, 1100, 760);
        let back = restore(&saved, &[LAPTOP, EXTERNAL], MIN).unwrap();
        assert!(back.rect.x >= 0 && back.rect.y >= 0);
        assert_eq!((back.rect.width, back.rect.height), (1100, 760));
    }

    #[test]
    fn no_monitor_keeps_the_default_and_the_file_round_trips() {
        assert_eq!(restore(&at(0, 0, 1100, 760), &[], MIN), None);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), None);
        let state = at(20, 30, 1200, 800);
        save(dir.path(), &state).unwrap();
        assert_eq!(load(dir.path()), Some(state));
        std::fs::write(dir.path().join(FILE_NAME), b"{broken").unwrap();
        assert_eq!(load(dir.path()), None);
    }

    #[test]
    fn a_maximized_close_keeps_the_last_normal_size() {
        let dir = tempfile::tempdir().unwrap();
        let normal = WindowState {
            rect: Rect {
                x: 10,
                y: 20,
                width: 1100,
                height: 760,
            },
            maximized: false,
        };
        remember(dir.path(), normal).unwrap();
        let full = WindowState {
            rect: LAPTOP,
            maximized: true,
        };
        remember(dir.path(), full).unwrap();
        let saved = load(dir.path()).unwrap();
        assert_eq!(saved.rect, normal.rect);
        assert!(saved.maximized);
    }

    #[test]
    fn the_minimum_follows_the_scale() {
        assert_eq!(min_physical(1.0), (760, 540));
        assert_eq!(min_physical(1.5), (1140, 810));
    }
}
