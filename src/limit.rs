//! The per-message size limit: every data frame of a message counts,
//! compressed or not, so that a host sets one number (as Node's ws
//! `maxPayload` and websockets' `max_size` let their users do).

use crate::error::{Error, Result};
use crate::extension::{OP_BINARY, OP_CONT, OP_TEXT};
use crate::fallible::detail;

/// "No limit", for the per-call `max_size` and the per-message limit alike.
pub const NO_LIMIT: usize = usize::MAX;

/// Counts the decoded bytes of the message in progress against a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimit {
    max: usize,
    /// Bytes of the message in progress decoded so far.
    used: usize,
}

impl Default for MessageLimit {
    fn default() -> Self {
        MessageLimit { max: NO_LIMIT, used: 0 }
    }
}

impl MessageLimit {
    pub fn new(max: usize) -> MessageLimit {
        MessageLimit { max, used: 0 }
    }

    /// Sets the limit; it applies to the message in progress too.
    pub fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// The most a frame with `opcode` may decode to: the whole limit for a
    /// frame that starts a message, what is left for a continuation, and no
    /// limit for a control frame (it is not part of a message).
    pub fn room(&self, opcode: u8) -> usize {
        match opcode {
            OP_TEXT | OP_BINARY => self.max,
            OP_CONT => self.max.saturating_sub(self.used),
            _ => NO_LIMIT,
        }
    }

    /// The bound for one decode call: the caller's `max_size` or the room
    /// left in the message, whichever is smaller, and which of them it is.
    pub fn bound(&self, opcode: u8, max_size: usize) -> Bound {
        let room = self.room(opcode);
        if room < max_size {
            Bound {
                bytes: room,
                message: true,
            }
        } else {
            Bound {
                bytes: max_size,
                message: false,
            }
        }
    }

    /// Counts a decoded frame of `len` bytes: `Err` when its message now
    /// exceeds the limit. A final frame ends the message.
    pub fn record(&mut self, opcode: u8, fin: bool, len: usize) -> Result<()> {
        let start = match opcode {
            OP_TEXT | OP_BINARY => 0,
            OP_CONT => self.used,
            _ => return Ok(()),
        };
        let used = start.saturating_add(len);
        if used > self.max {
            return Err(too_big_message(self.max));
        }
        self.used = if fin { 0 } else { used };
        Ok(())
    }
}

/// The limit one decode call works to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub bytes: usize,
    /// True when the per-message limit, not the call's max_size, set it.
    pub message: bool,
}

impl Bound {
    /// The error for output beyond this bound.
    pub fn exceeded(&self, max_message: usize) -> Error {
        if self.message {
            too_big_message(max_message)
        } else {
            Error::PayloadTooBig(detail!("decoded frame exceeds max_size of {} bytes", self.bytes))
        }
    }
}

fn too_big_message(max: usize) -> Error {
    Error::PayloadTooBig(detail!("message exceeds the max message size of {max} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_data_frame_of_a_message() {
        let mut l = MessageLimit::new(10);
        assert_eq!(l.room(OP_TEXT), 10);
        l.record(OP_TEXT, false, 4).unwrap();
        assert_eq!(l.room(OP_CONT), 6);
        l.record(OP_CONT, false, 6).unwrap();
        assert_eq!(l.room(OP_CONT), 0, "a budget spent exactly leaves no room");
        let err = l.record(OP_CONT, true, 1).unwrap_err();
        assert!(matches!(err, Error::PayloadTooBig(_)), "{err:?}");
    }

    #[test]
    fn a_final_frame_ends_the_message_and_control_frames_do_not_count() {
        let mut l = MessageLimit::new(4);
        l.record(OP_BINARY, true, 4).unwrap();
        l.record(9, true, 12).unwrap();
        assert_eq!(l.room(OP_BINARY), 4);
        l.record(OP_BINARY, true, 4).unwrap();
    }

    #[test]
    fn the_smaller_bound_wins_and_says_which_it_is() {
        let mut l = MessageLimit::new(100);
        l.record(OP_TEXT, false, 60).unwrap();
        assert_eq!(
            l.bound(OP_CONT, 50),
            Bound {
                bytes: 40,
                message: true
            }
        );
        assert_eq!(
            l.bound(OP_CONT, 30),
            Bound {
                bytes: 30,
                message: false
            }
        );
        assert_eq!(
            l.bound(9, 0),
            Bound {
                bytes: 0,
                message: false
            }
        );
        assert_eq!(MessageLimit::default().bound(OP_TEXT, NO_LIMIT).bytes, NO_LIMIT);
    }
}
