//! Compress once, send to many: an encoder tied to no connection. Every
//! message it makes starts from an empty window (no context takeover), so
//! any connection whose sending side agreed no_context_takeover and a
//! window at least as large may send its frames as if it had made them
//! itself (`PerMessageDeflate::can_send_shared` says which).

use crate::config::Config;
use crate::error::Result;
use crate::extension::{Agreed, Frame, PerMessageDeflate};
use crate::params::check_window_bits;

/// A compressor with no peer: the encode side of an extension that agreed
/// no_context_takeover with the given window, so that its frames follow
/// exactly the rules of `pmd_extension_encode` (RSV1 on the first frame,
/// the tail dropped on the final one, control frames passed through,
/// fragments of one message in order), and every message starts afresh.
pub struct SharedEncoder {
    window_bits: u8,
    ext: PerMessageDeflate,
}

impl SharedEncoder {
    /// `window_bits` is 8..15, as for an agreed window (8 compresses with
    /// zlib's 9, whose output reaches back at most 250 bytes). The zlib
    /// settings come from `cfg`; its negotiation parameters do not apply.
    pub fn new(cfg: &Config, window_bits: i64) -> Result<SharedEncoder> {
        let window_bits = check_window_bits("window_bits", window_bits)?;
        let agreed = Agreed {
            remote_no_context_takeover: true,
            local_no_context_takeover: true,
            remote_max_window_bits: window_bits,
            local_max_window_bits: window_bits,
        };
        Ok(SharedEncoder {
            window_bits,
            ext: PerMessageDeflate::for_config(agreed, cfg)?,
        })
    }

    /// The window its messages fit in: 8..15 bits.
    pub fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// Compresses one outgoing frame, as `Encoder::encode` does. The result
    /// borrows the input or this encoder's buffer until the next call.
    pub fn encode<'a>(&'a mut self, frame: &Frame<'a>) -> Result<Frame<'a>> {
        self.ext.encode(frame)
    }

    /// Bytes held by zlib and the output buffer now.
    pub fn memory_usage(&self) -> usize {
        self.ext.memory_usage()
    }
}
