//! The app's window as the X server sees it, for what WebDriver cannot do: close it as the
//! user's window manager would (the title bar's ×, Alt+F4) and tell whether it is on screen.
//!
//! The rig's Xvfb runs no window manager, so the app's toplevel is a child of the root
//! window, marked with the app's process id (`_NET_WM_PID`, set by GTK). A close is the
//! ICCCM request every window manager sends: a `WM_PROTOCOLS` client message carrying
//! `WM_DELETE_WINDOW`, which GTK turns into the window's close request (Tauri's
//! `CloseRequested`). WebDriver's own "close window" destroys the web view instead.

use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConnectionExt as _, EventMask, MapState, Window,
};
use x11rb::rust_connection::RustConnection;

use crate::{Error, Result};

fn x11<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> Error + '_ {
    move |e| Error::Protocol(format!("X server ({what}): {e}"))
}

/// A connection to the rig's display (`DISPLAY`).
pub struct Display {
    conn: RustConnection,
    root: Window,
}

impl Display {
    pub fn open() -> Result<Self> {
        let (conn, screen) = x11rb::connect(None).map_err(x11("connect"))?;
        let root = conn.setup().roots[screen].root;
        Ok(Self { conn, root })
    }

    fn atom(&self, name: &str) -> Result<u32> {
        Ok(self
            .conn
            .intern_atom(false, name.as_bytes())
            .map_err(x11("intern atom"))?
            .reply()
            .map_err(x11("intern atom"))?
            .atom)
    }

    /// The toplevel window of process `pid`: among the root's children marked with that
    /// process id, the largest (GTK's client-leader window is marked too, and is 1×1).
    pub fn app_window(&self, pid: u32) -> Result<Option<Window>> {
        let net_wm_pid = self.atom("_NET_WM_PID")?;
        let children = self
            .conn
            .query_tree(self.root)
            .map_err(x11("query tree"))?
            .reply()
            .map_err(x11("query tree"))?
            .children;
        let mut best: Option<(u32, Window)> = None;
        for window in children {
            let Ok(cookie) =
                self.conn
                    .get_property(false, window, net_wm_pid, AtomEnum::CARDINAL, 0, 1)
            else {
                continue;
            };
            let Ok(reply) = cookie.reply() else { continue };
            if reply.value32().and_then(|mut v| v.next()) != Some(pid) {
                continue;
            }
            let Ok(geometry) = self.conn.get_geometry(window).map_err(x11("geometry")) else {
                continue;
            };
            let Ok(geometry) = geometry.reply() else {
                continue;
            };
            let area = u32::from(geometry.width) * u32::from(geometry.height);
            if best.is_none_or(|(a, _)| area > a) {
                best = Some((area, window));
            }
        }
        Ok(best.map(|(_, w)| w))
    }

    /// Whether the window is on screen (mapped), as opposed to hidden.
    pub fn shown(&self, window: Window) -> Result<bool> {
        let attributes = self
            .conn
            .get_window_attributes(window)
            .map_err(x11("attributes"))?
            .reply()
            .map_err(x11("attributes"))?;
        Ok(attributes.map_state == MapState::VIEWABLE)
    }

    /// Asks the window to close, as a window manager does when the user clicks its ×.
    pub fn close(&self, window: Window) -> Result<()> {
        let protocols = self.atom("WM_PROTOCOLS")?;
        let delete = self.atom("WM_DELETE_WINDOW")?;
        let event = ClientMessageEvent::new(
            32,
            window,
            protocols,
            [delete, x11rb::CURRENT_TIME, 0, 0, 0],
        );
        self.conn
            .send_event(false, window, EventMask::NO_EVENT, event)
            .map_err(x11("send close"))?;
        self.conn.flush().map_err(x11("flush"))?;
        Ok(())
    }
}
