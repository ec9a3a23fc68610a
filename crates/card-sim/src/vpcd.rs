//! The link to `vsmartcard-vpcd`: the virtual card is a TCP client of the pcscd driver.
//!
//! Wire format (vsmartcard `vpcd.c`): every message is a 2-byte big-endian length and a
//! payload. A 1-byte payload is a control message (00 power off, 01 power on, 02 reset,
//! 04 get ATR; only the ATR request gets an answer); anything longer is a command APDU that gets
//! the response APDU back. vpcd always speaks first.
//!
//! The link reconnects by itself when vpcd goes away (pcscd restarted), because that is what a
//! card left in a reader looks like to the host. It does not reconnect after a simulated pull:
//! the card stays out until [`SimCard::insert`].

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::card::{ApduRecord, VirtualCard};
use crate::cie::VirtualCie;
use crate::{SimError, SimOptions};

/// What happened on the link, for tests that need to know pcscd's view of the card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// TCP connection to vpcd established (card "inserted").
    Connected,
    /// vpcd powered the card on.
    PowerOn,
    /// vpcd powered the card off.
    PowerOff,
    /// vpcd reset the card.
    Reset,
    /// The card was pulled out (simulated fault or [`SimCard::remove`]).
    Pulled,
    /// vpcd closed the connection (pcscd stopped).
    Disconnected,
    /// A command is being held unanswered ([`crate::SimOptions::stall_after`]).
    Stalled,
}

struct State {
    card: Chip,
    inserted: bool,
    stop: bool,
    stream: Option<TcpStream>,
    events: Vec<LinkEvent>,
    /// APDUs answered since the card was last inserted; drives `pull_after`.
    apdus_since_insert: usize,
    pull_after: Option<usize>,
    /// Pull the card when a command with this INS arrives (once): see [`SimCard::pull_at_ins`].
    pull_at_ins: Option<u8>,
    stall_after: Option<usize>,
    log_file: Option<std::fs::File>,
}

/// The card behind the link: a CNS or a CIE.
#[allow(clippy::large_enum_variant)] // one per link, never moved around
enum Chip {
    Cns(VirtualCard),
    Cie(Box<VirtualCie>),
}

impl Chip {
    fn reset(&mut self) {
        match self {
            Chip::Cns(c) => c.reset(),
            Chip::Cie(c) => c.reset(),
        }
    }

    fn atr(&self) -> Vec<u8> {
        match self {
            Chip::Cns(c) => c.profile().atr.clone(),
            Chip::Cie(c) => c.atr().to_vec(),
        }
    }

    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        match self {
            Chip::Cns(c) => c.transmit(apdu),
            Chip::Cie(c) => c.transmit(apdu),
        }
    }

    fn log(&self) -> &[ApduRecord] {
        match self {
            Chip::Cns(c) => c.log(),
            Chip::Cie(c) => c.log(),
        }
    }

    fn clear_log(&mut self) {
        match self {
            Chip::Cns(c) => c.clear_log(),
            Chip::Cie(c) => c.clear_log(),
        }
    }
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in the link thread must not hide the card from the test that inspects it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running virtual card connected (or connecting) to vpcd. Dropping it stops the card.
pub struct SimCard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    addr: SocketAddr,
}

impl std::fmt::Debug for SimCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCard").field("addr", &self.addr).finish()
    }
}

impl SimCard {
    /// Personalises a card and starts the link thread. Returns at once; use
    /// [`SimCard::wait_powered`] to know when pcscd has seen the card.
    pub fn start(options: SimOptions) -> Result<SimCard, SimError> {
        let (card, pull_default, pull_at_ins) = match options.cie {
            Some(name) => {
                let profile = name.profile();
                let pull = profile.pull_after_default;
                let at = profile.pull_at_ins_default;
                (Chip::Cie(Box::new(VirtualCie::new(profile)?)), pull, at)
            }
            None => {
                let profile = options.profile.profile();
                let pull = profile.pull_after_default;
                (Chip::Cns(VirtualCard::new(profile)?), pull, None)
            }
        };
        let pull_after = options.pull_after.or(pull_default);
        // An explicit APDU count replaces the profile's moment.
        let pull_at_ins = if options.pull_after.is_some() {
            None
        } else {
            pull_at_ins
        };
        let log_file = match &options.apdu_log_file {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
            None => None,
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                card,
                inserted: true,
                stop: false,
                stream: None,
                events: Vec::new(),
                apdus_since_insert: 0,
                pull_after,
                pull_at_ins,
                stall_after: options.stall_after,
                log_file,
            }),
            changed: Condvar::new(),
        });
        let addr = options.addr;
        let thread = std::thread::Builder::new()
            .name(format!("vpcd-card-{}", addr.port()))
            .spawn({
                let shared = Arc::clone(&shared);
                move || run(&shared, addr)
            })
            .map_err(SimError::Io)?;
        Ok(SimCard {
            shared,
            thread: Some(thread),
            addr,
        })
    }

    /// Runs `f` with the card (files, credentials, counters, APDU log).
    ///
    /// Panics when the card is a CIE (use [`SimCard::with_cie`]): a test mixing them up is
    /// wrong, not unlucky.
    pub fn with_card<R>(&self, f: impl FnOnce(&mut VirtualCard) -> R) -> R {
        match &mut self.shared.lock().card {
            Chip::Cns(c) => f(c),
            Chip::Cie(_) => panic!("with_card on a virtual CIE: use with_cie"),
        }
    }

    /// Runs `f` with the virtual CIE; `None` when the card is a CNS.
    pub fn with_cie<R>(&self, f: impl FnOnce(&mut VirtualCie) -> R) -> Option<R> {
        match &mut self.shared.lock().card {
            Chip::Cie(c) => Some(f(c)),
            Chip::Cns(_) => None,
        }
    }

    /// A copy of the APDU log (PIN data redacted).
    pub fn apdu_log(&self) -> Vec<ApduRecord> {
        self.shared.lock().card.log().to_vec()
    }

    /// Clears the APDU log.
    pub fn clear_apdu_log(&self) {
        self.shared.lock().card.clear_log();
    }

    /// Link events so far.
    pub fn events(&self) -> Vec<LinkEvent> {
        self.shared.lock().events.clone()
    }

    /// Waits until vpcd has powered the card on after the latest connection, i.e. pcscd has
    /// registered the card in the reader. `false` on timeout.
    pub fn wait_powered(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            let connected_at = st.events.iter().rposition(|e| *e == LinkEvent::Connected);
            if let Some(i) = connected_at
                && st.stream.is_some()
                && st.events[i..]
                    .iter()
                    .any(|e| matches!(e, LinkEvent::PowerOn | LinkEvent::Reset))
            {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Waits until a command is held by [`crate::SimOptions::stall_after`]. `false` on timeout.
    pub fn wait_stalled(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if st.events.contains(&LinkEvent::Stalled) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Pulls the card out of the reader now.
    pub fn remove(&self) {
        let mut st = self.shared.lock();
        st.inserted = false;
        if let Some(s) = st.stream.take() {
            let _ = s.shutdown(Shutdown::Both);
        }
        st.events.push(LinkEvent::Pulled);
        self.shared.changed.notify_all();
    }

    /// Puts the card back (after a pull); the fault counter starts again.
    pub fn insert(&self, pull_after: Option<usize>) {
        let mut st = self.shared.lock();
        st.inserted = true;
        st.apdus_since_insert = 0;
        st.pull_after = pull_after;
        self.shared.changed.notify_all();
    }

    /// Lifts the card from the reader when the next command with instruction byte `ins`
    /// arrives (under secure messaging too: the header's INS stays in clear): the command is
    /// neither answered nor executed, and the card stays out until [`SimCard::insert`]. For
    /// "the card left right after the PIN was sent" (`ins` 0x20, VERIFY) whatever the number
    /// of commands before it.
    pub fn pull_at_ins(&self, ins: u8) {
        self.shared.lock().pull_at_ins = Some(ins);
    }

    /// Whether the card is currently connected to vpcd.
    pub fn is_connected(&self) -> bool {
        self.shared.lock().stream.is_some()
    }

    /// Stops the card and waits for the link thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        {
            let mut st = self.shared.lock();
            st.stop = true;
            if let Some(s) = st.stream.take() {
                let _ = s.shutdown(Shutdown::Both);
            }
            self.shared.changed.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SimCard {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(shared: &Shared, addr: SocketAddr) {
    loop {
        {
            let mut st = shared.lock();
            while !st.stop && !st.inserted {
                st = shared
                    .changed
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if st.stop {
                return;
            }
        }
        let stream = match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(s) => s,
            Err(e) => {
                // pcscd (and so vpcd) not up yet, or restarting: try again shortly.
                tracing::trace!(%addr, error = %e, "vpcd not reachable yet");
                wait_or_stop(shared, Duration::from_millis(100));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Ok(reader) = stream.try_clone() else {
            continue;
        };
        {
            let mut st = shared.lock();
            if st.stop || !st.inserted {
                let _ = stream.shutdown(Shutdown::Both);
                continue;
            }
            st.stream = Some(stream);
            st.events.push(LinkEvent::Connected);
            shared.changed.notify_all();
        }
        tracing::debug!(%addr, "card connected to vpcd");
        let end = serve(shared, reader);
        let mut st = shared.lock();
        st.stream = None;
        if end == End::VpcdClosed && !st.stop {
            st.events.push(LinkEvent::Disconnected);
        }
        shared.changed.notify_all();
        drop(st);
        wait_or_stop(shared, Duration::from_millis(100));
    }
}

#[derive(PartialEq, Eq)]
enum End {
    VpcdClosed,
    Pulled,
}

fn serve(shared: &Shared, mut stream: TcpStream) -> End {
    loop {
        let msg = match read_frame(&mut stream) {
            Ok(m) => m,
            Err(_) => {
                let st = shared.lock();
                return if st.inserted && !st.stop {
                    End::VpcdClosed
                } else {
                    End::Pulled
                };
            }
        };
        let mut stalled = false;
        let reply = {
            let mut st = shared.lock();
            match msg.as_slice() {
                [0x00] => {
                    st.card.reset();
                    st.events.push(LinkEvent::PowerOff);
                    None
                }
                [0x01] => {
                    st.card.reset();
                    st.events.push(LinkEvent::PowerOn);
                    None
                }
                [0x02] => {
                    st.card.reset();
                    st.events.push(LinkEvent::Reset);
                    None
                }
                [0x04] => Some(st.card.atr()),
                [_] => None,
                apdu => {
                    let at_ins = st.pull_at_ins.is_some_and(|i| apdu.get(1) == Some(&i));
                    if at_ins || st.pull_after.is_some_and(|n| st.apdus_since_insert >= n) {
                        // The card leaves the reader in the middle of this command: no answer.
                        st.pull_at_ins = None;
                        st.inserted = false;
                        st.events.push(LinkEvent::Pulled);
                        let _ = stream.shutdown(Shutdown::Both);
                        shared.changed.notify_all();
                        return End::Pulled;
                    }
                    if st.stall_after.is_some_and(|n| st.apdus_since_insert >= n) {
                        // In flight for good: not executed, so no PIN counter moves.
                        st.stall_after = None;
                        st.events.push(LinkEvent::Stalled);
                        stalled = true;
                        None
                    } else {
                        st.apdus_since_insert += 1;
                        let response = st.card.transmit(apdu);
                        log_line(&mut st);
                        Some(response)
                    }
                }
            }
        };
        shared.changed.notify_all();
        if stalled {
            // Whatever vpcd sends now goes unanswered; the link ends when vpcd drops it.
            while read_frame(&mut stream).is_ok() {}
            let st = shared.lock();
            return if st.inserted && !st.stop {
                End::VpcdClosed
            } else {
                End::Pulled
            };
        }
        if let Some(r) = reply
            && write_frame(&mut stream, &r).is_err()
        {
            return End::VpcdClosed;
        }
    }
}

/// Appends the latest APDU record as a JSON line (hex strings, PIN data already redacted).
fn log_line(st: &mut State) {
    let State { card, log_file, .. } = st;
    let (Some(file), Some(r)) = (log_file.as_mut(), card.log().last()) else {
        return;
    };
    let data: String = r.data.iter().map(|b| format!("{b:02X}")).collect();
    let line = format!(
        "{{\"cla\":\"{:02X}\",\"ins\":\"{:02X}\",\"p1\":\"{:02X}\",\"p2\":\"{:02X}\",\"lc\":{},\"data\":\"{}\",\"extended\":{},\"sw\":\"{:04X}\",\"resp_len\":{}}}\n",
        r.cla, r.ins, r.p1, r.p2, r.data_len, data, r.extended, r.sw, r.response_len
    );
    if let Err(e) = file.write_all(line.as_bytes()) {
        tracing::warn!(error = %e, "cannot write the APDU log file");
    }
}

fn wait_or_stop(shared: &Shared, d: Duration) {
    let st = shared.lock();
    if !st.stop {
        let _ = shared.changed.wait_timeout(st, d);
    }
}

fn read_frame(s: &mut TcpStream) -> io::Result<Vec<u8>> {
    // vpcd writes the length and the payload with two send() calls and leaves Nagle on, so
    // the payload waits for our ACK of the length; with delayed ACKs that costs ~40 ms per
    // APDU. Quick-ACK mode (Linux) is not sticky: re-arm it before every frame.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = socket2::SockRef::from(&*s).set_tcp_quickack(true);
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut buf)?;
    Ok(buf)
}

fn write_frame(s: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "frame longer than 65535"))?;
    let mut out = Vec::with_capacity(payload.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    s.write_all(&out)
}
