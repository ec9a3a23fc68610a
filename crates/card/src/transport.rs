//! APDU transport: what ISO 7816-4 leaves to the host.
//!
//! `SCardTransmit` is a thin pipe; `pcsc` (rightly) adds nothing. This layer does the rest,
//! visibly and without retries that could cost the holder anything:
//! - short or extended encoding, chosen from the card's capabilities;
//! - command chaining (CLA bit 0x10) for data over 255 bytes on short-only cards;
//! - `61xx` → GET RESPONSE until the card has nothing left;
//! - `6Cxx` → the same command once more with the exact `Le` (safe: only READ-type commands
//!   get `6Cxx`, never VERIFY);
//! - a response shorter than two bytes is a malformed answer, not a panic.
//!
//! The command buffer is zeroized after use because VERIFY puts the PIN in it, and the trace
//! log shows headers and lengths only, never data.

use zeroize::Zeroizing;

use crate::error::{CardError, StatusWord};

/// Anything that can carry one APDU to a card and bring back the answer (data + SW1 SW2):
/// a PC/SC card handle, or an in-process emulator in tests.
pub trait RawTransmit {
    /// Sends `command` and returns the raw response.
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError>;

    /// Runs `f` with the card reserved for us (a PC/SC transaction), so no other
    /// application's APDUs can slip between ours. Links without such a notion just run `f`.
    fn exclusive(
        &mut self,
        f: &mut dyn FnMut(&mut dyn RawTransmit) -> Result<(), CardError>,
    ) -> Result<(), CardError>
    where
        Self: Sized,
    {
        f(self)
    }
}

impl RawTransmit for &mut dyn RawTransmit {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        (**self).transmit_raw(command)
    }
}

/// A command APDU.
#[derive(Clone, Debug)]
pub struct Command<'a> {
    /// Class byte (chaining bit added by the transport).
    pub cla: u8,
    /// Instruction.
    pub ins: u8,
    /// P1.
    pub p1: u8,
    /// P2.
    pub p2: u8,
    /// Command data.
    pub data: &'a [u8],
    /// Expected response length Ne; 256 (short) / 65536 (extended) mean "as much as there is".
    pub le: Option<usize>,
}

impl<'a> Command<'a> {
    /// A command with data and no response expected.
    pub fn new(ins: u8, p1: u8, p2: u8, data: &'a [u8]) -> Command<'a> {
        Command {
            cla: 0x00,
            ins,
            p1,
            p2,
            data,
            le: None,
        }
    }

    /// The same command expecting up to `le` bytes.
    pub fn with_le(mut self, le: usize) -> Command<'a> {
        self.le = Some(le);
        self
    }

    /// Encodes the command; `extended` selects 3-byte Lc / 2-byte Le.
    fn encode(&self, extended: bool) -> Result<Zeroizing<Vec<u8>>, CardError> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.data.len() + 9));
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        let too_long = || CardError::Malformed {
            what: "command too long for this card".into(),
        };
        if extended {
            if !self.data.is_empty() {
                let lc = u16::try_from(self.data.len()).map_err(|_| too_long())?;
                out.push(0x00);
                out.extend_from_slice(&lc.to_be_bytes());
                out.extend_from_slice(self.data);
            }
            if let Some(le) = self.le {
                if self.data.is_empty() {
                    out.push(0x00);
                }
                // 65536 is encoded as 00 00.
                let le = if le >= 65536 {
                    0
                } else {
                    u16::try_from(le).map_err(|_| too_long())?
                };
                out.extend_from_slice(&le.to_be_bytes());
            }
        } else {
            if !self.data.is_empty() {
                let lc = u8::try_from(self.data.len()).map_err(|_| too_long())?;
                out.push(lc);
                out.extend_from_slice(self.data);
            }
            if let Some(le) = self.le {
                // 256 is encoded as 00.
                out.push(if le >= 256 { 0 } else { le as u8 });
            }
        }
        Ok(out)
    }
}

/// A response APDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Response data (after GET RESPONSE reassembly).
    pub data: Vec<u8>,
    /// Final status word.
    pub sw: StatusWord,
}

impl Response {
    fn parse(raw: &[u8]) -> Result<Response, CardError> {
        let n = raw.len();
        if n < 2 {
            return Err(CardError::Malformed {
                what: format!("response of {n} bytes has no status word"),
            });
        }
        Ok(Response {
            data: raw[..n - 2].to_vec(),
            sw: StatusWord(u16::from_be_bytes([raw[n - 2], raw[n - 1]])),
        })
    }
}

/// The transport: a [`RawTransmit`] plus the card's APDU capabilities.
pub struct Transport<T> {
    raw: T,
    extended: bool,
    apdus: usize,
}

/// Whether a command answered with `6Cxx` may be sent again with the `Le` the card asks for:
/// only a command that asked for data (it has an `Le`) and only reads (READ BINARY, GET
/// RESPONSE, SELECT, GET DATA). Never VERIFY, CHANGE/RESET RETRY COUNTER, MSE or PSO: a buggy
/// card, a malicious reader or a PC/SC shim answering `6Cxx` to VERIFY would otherwise make
/// the host send the PIN twice, and spend two tries.
pub fn may_resend_with_le(cmd: &Command<'_>) -> bool {
    const READS: [u8; 4] = [0xB0, 0xC0, 0xA4, 0xCA];
    cmd.le.is_some() && READS.contains(&cmd.ins)
}

impl<T: RawTransmit> Transport<T> {
    /// Wraps `raw`; `extended` = the card accepts extended-length APDUs.
    pub fn new(raw: T, extended: bool) -> Transport<T> {
        Transport {
            raw,
            extended,
            apdus: 0,
        }
    }

    /// Whether extended length is used.
    pub fn extended(&self) -> bool {
        self.extended
    }

    /// APDUs sent so far (benchmarks, tests).
    pub fn apdu_count(&self) -> usize {
        self.apdus
    }

    /// The wrapped link.
    pub fn into_inner(self) -> T {
        self.raw
    }

    /// Largest Ne one command may ask for.
    pub fn max_le(&self) -> usize {
        if self.extended { 65536 } else { 256 }
    }

    /// Runs `f` over this transport with the card reserved (see [`RawTransmit::exclusive`]).
    pub fn exclusive<R>(
        &mut self,
        f: impl FnOnce(&mut Transport<&mut dyn RawTransmit>) -> Result<R, CardError>,
    ) -> Result<R, CardError> {
        let extended = self.extended;
        let mut f = Some(f);
        let mut out = None;
        let mut apdus = 0;
        self.raw.exclusive(&mut |link| {
            if let Some(f) = f.take() {
                let mut t = Transport {
                    raw: link,
                    extended,
                    apdus: 0,
                };
                out = Some(f(&mut t));
                apdus = t.apdus;
            }
            Ok(())
        })?;
        self.apdus += apdus;
        out.unwrap_or(Err(CardError::Cancelled))
    }

    /// Sends `cmd` and returns the final response, whatever its status word.
    pub fn exchange(&mut self, cmd: &Command<'_>) -> Result<Response, CardError> {
        let fits_short = cmd.data.len() <= 255 && cmd.le.is_none_or(|le| le <= 256);
        if !fits_short && !self.extended && cmd.data.len() > 255 {
            return self.exchange_chained(cmd);
        }
        let mut cmd = cmd.clone();
        if !self.extended {
            cmd.le = cmd.le.map(|le| le.min(256));
        }
        let use_extended = self.extended && !fits_short;
        let mut resp = self.send_once(&cmd, use_extended)?;
        if resp.sw.sw1() == 0x6C && may_resend_with_le(&cmd) {
            // Wrong Le: the card tells the right one; asking again has no side effects for
            // the commands that read (READ BINARY, GET RESPONSE, SELECT, GET DATA).
            cmd.le = Some(match resp.sw.sw2() {
                0 => 256,
                n => usize::from(n),
            });
            resp = self.send_once(&cmd, use_extended)?;
        }
        self.collect_get_response(resp)
    }

    fn exchange_chained(&mut self, cmd: &Command<'_>) -> Result<Response, CardError> {
        let chunks: Vec<&[u8]> = cmd.data.chunks(255).collect();
        let last = chunks.len().saturating_sub(1);
        for (i, chunk) in chunks.iter().enumerate() {
            let part = Command {
                cla: if i < last { cmd.cla | 0x10 } else { cmd.cla },
                data: chunk,
                le: if i < last {
                    None
                } else {
                    cmd.le.map(|l| l.min(256))
                },
                ..cmd.clone()
            };
            let resp = self.send_once(&part, false)?;
            if i < last && resp.sw != StatusWord::OK {
                return Ok(resp);
            }
            if i == last {
                return self.collect_get_response(resp);
            }
        }
        Err(CardError::Malformed {
            what: "empty chained command".into(),
        })
    }

    fn collect_get_response(&mut self, mut resp: Response) -> Result<Response, CardError> {
        let mut data = std::mem::take(&mut resp.data);
        // Bounded: a card that keeps answering 61xx forever must not hang the app.
        for _ in 0..256 {
            if resp.sw.sw1() != 0x61 {
                resp.data = data;
                return Ok(resp);
            }
            let le = match resp.sw.sw2() {
                0 => 256,
                n => usize::from(n),
            };
            let get = Command::new(0xC0, 0x00, 0x00, &[]).with_le(le);
            resp = self.send_once(&get, false)?;
            data.append(&mut resp.data);
        }
        Err(CardError::Malformed {
            what: "endless GET RESPONSE chain".into(),
        })
    }

    fn send_once(&mut self, cmd: &Command<'_>, extended: bool) -> Result<Response, CardError> {
        let bytes = cmd.encode(extended)?;
        self.apdus += 1;
        let raw = self.raw.transmit_raw(&bytes);
        drop(bytes);
        let resp = Response::parse(&raw?)?;
        tracing::trace!(
            cla = cmd.cla,
            ins = cmd.ins,
            p1 = cmd.p1,
            p2 = cmd.p2,
            lc = cmd.data.len(),
            extended,
            sw = %resp.sw,
            resp_len = resp.data.len(),
            "apdu"
        );
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays canned answers and records what was sent.
    struct Script {
        answers: Vec<Vec<u8>>,
        sent: Vec<Vec<u8>>,
    }

    impl RawTransmit for Script {
        fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
            self.sent.push(command.to_vec());
            if self.answers.is_empty() {
                return Err(CardError::CardRemoved);
            }
            Ok(self.answers.remove(0))
        }
    }

    fn script(answers: &[&[u8]]) -> Transport<Script> {
        Transport::new(
            Script {
                answers: answers.iter().map(|a| a.to_vec()).collect(),
                sent: Vec::new(),
            },
            false,
        )
    }

    #[test]
    fn encodes_short_and_extended() {
        let c = Command::new(0xB0, 0, 0, &[]).with_le(256);
        assert_eq!(c.encode(false).expect("e").as_slice(), &[0, 0xB0, 0, 0, 0]);
        assert_eq!(
            c.encode(true).expect("e").as_slice(),
            &[0, 0xB0, 0, 0, 0, 1, 0]
        );
        let data = [7u8; 256];
        let c = Command::new(0x2A, 0x9E, 0x9A, &data).with_le(256);
        let e = c.encode(true).expect("e");
        assert_eq!(&e[..7], &[0, 0x2A, 0x9E, 0x9A, 0, 1, 0]);
        assert_eq!(&e[e.len() - 2..], &[1, 0]);
        assert!(c.encode(false).is_err());
    }

    #[test]
    fn follows_61xx_and_6cxx() {
        let mut t = script(&[&[0x61, 0x03], &[1, 2, 3, 0x90, 0x00]]);
        let r = t
            .exchange(&Command::new(0x2A, 0x9E, 0x9A, &[1]).with_le(256))
            .expect("ok");
        assert_eq!(r.data, vec![1, 2, 3]);
        assert_eq!(t.raw.sent[1], vec![0, 0xC0, 0, 0, 3]);

        let mut t = script(&[&[0x6C, 0x05], &[9, 9, 9, 9, 9, 0x90, 0x00]]);
        let r = t
            .exchange(&Command::new(0xB0, 0, 0, &[]).with_le(32))
            .expect("ok");
        assert_eq!(r.data.len(), 5);
        assert_eq!(t.raw.sent[1], vec![0, 0xB0, 0, 0, 5]);
    }

    #[test]
    fn verify_is_never_resent_on_6cxx() {
        // A card (or a reader, or a shim) answering 6Cxx to VERIFY: the PIN goes out once and
        // the answer comes back as it is.
        let pin_block = [b'1', b'2', b'3', b'4', b'5', 0xFF, 0xFF, 0xFF];
        let mut t = script(&[&[0x6C, 0x08], &[0x90, 0x00]]);
        let r = t
            .exchange(&Command::new(0x20, 0x00, 0x10, &pin_block))
            .expect("answer");
        assert_eq!(r.sw, StatusWord(0x6C08));
        assert_eq!(t.raw.sent.len(), 1);

        // Even with an Le: only reads are re-sent.
        let mut t = script(&[&[0x6C, 0x08], &[0x90, 0x00]]);
        t.exchange(&Command::new(0x20, 0x00, 0x10, &pin_block).with_le(8))
            .expect("answer");
        assert_eq!(t.raw.sent.len(), 1);
        let mut t = script(&[&[0x6C, 0x10], &[0x90, 0x00]]);
        t.exchange(&Command::new(0x2A, 0x9E, 0x9A, &[1, 2]).with_le(256))
            .expect("answer");
        assert_eq!(t.raw.sent.len(), 1, "PSO is not re-sent");

        // The reads still are: SELECT, GET DATA.
        for ins in [0xA4, 0xCA] {
            let mut t = script(&[&[0x6C, 0x02], &[1, 2, 0x90, 0x00]]);
            let r = t
                .exchange(&Command::new(ins, 0, 0, &[]).with_le(256))
                .expect("ok");
            assert_eq!((r.data.len(), t.raw.sent.len()), (2, 2), "INS {ins:02X}");
        }
        // A read without Le was not asking for data: not re-sent either.
        let mut t = script(&[&[0x6C, 0x02], &[1, 2, 0x90, 0x00]]);
        t.exchange(&Command::new(0xA4, 0, 0, &[0x3F, 0x00]))
            .expect("ok");
        assert_eq!(t.raw.sent.len(), 1);
    }

    #[test]
    fn chains_long_data_on_short_cards() {
        let mut t = script(&[&[0x90, 0x00], &[0xAA, 0x90, 0x00]]);
        let data = [1u8; 256];
        let r = t
            .exchange(&Command::new(0x2A, 0x9E, 0x9A, &data).with_le(256))
            .expect("ok");
        assert_eq!(r.data, vec![0xAA]);
        assert_eq!(t.raw.sent[0][0], 0x10);
        assert_eq!(t.raw.sent[0][4], 255);
        assert_eq!(t.raw.sent[1][0], 0x00);
        assert_eq!(t.raw.sent[1][4], 1);
    }

    #[test]
    fn short_answers_are_errors_not_panics() {
        let mut t = script(&[&[0x90]]);
        let e = t
            .exchange(&Command::new(0xB0, 0, 0, &[]).with_le(1))
            .expect_err("bad");
        assert_eq!(e.code(), "card.malformed");
    }
}
