//! The factory parameters (websockets' client and server factory
//! constructor arguments) and zlib compression settings. One `Config` serves
//! either role; a server refuses some combinations a server refuses.

use crate::error::{Error, Result};
use crate::fallible::detail;
use crate::limit::NO_LIMIT;
use crate::params::{check_window_bits, ClientBits};

/// zlib's strategies (`Z_DEFAULT_STRATEGY` .. `Z_FIXED`).
pub const STRATEGY_MAX: i32 = 4;

/// zlib settings for the compressor (websockets' `compress_settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressSettings {
    /// -1 (zlib's default, 6) or 0..9.
    pub level: i32,
    /// 1..9.
    pub mem_level: i32,
    /// 0..4, zlib's strategy constants.
    pub strategy: i32,
}

impl Default for CompressSettings {
    fn default() -> Self {
        CompressSettings {
            level: -1,
            mem_level: 8,
            strategy: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: Option<u8>,
    pub client_max_window_bits: Option<ClientBits>,
    pub compress: CompressSettings,
    pub require: bool,
    pub require_client_max_window_bits: bool,
    /// The per-message limit every extension negotiated with this config
    /// starts with (`NO_LIMIT` by default).
    pub max_message_size: usize,
    /// Decode below 15 window bits in calls of a quarter window, so that a
    /// distance beyond the agreed window is caught within a message too
    /// (off by default: full-speed decoding; see docs/frames.md).
    pub strict_window: bool,
    /// A whole single-frame message shorter than this many bytes is sent
    /// uncompressed (0, the default: every message is compressed).
    pub compress_threshold: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
            compress: CompressSettings::default(),
            require: false,
            require_client_max_window_bits: false,
            max_message_size: NO_LIMIT,
            strict_window: false,
            compress_threshold: 0,
        }
    }
}

/// The window-bits argument of the C setters: 0 unset, -1 no value, 8..15.
pub const WINDOW_BITS_NO_VALUE: i32 = -1;

fn window_bits(name: &str, bits: i32) -> Result<Option<u8>> {
    if bits == 0 {
        return Ok(None);
    }
    check_window_bits(name, bits.into())
        .map(Some)
        .map_err(|_| Error::invalid(detail!("{name} must be 0 (unset) or 8..15, got {bits}")))
}

impl Config {
    pub fn set_server_max_window_bits(&mut self, bits: i32) -> Result<()> {
        self.server_max_window_bits = window_bits("server_max_window_bits", bits)?;
        Ok(())
    }

    pub fn set_client_max_window_bits(&mut self, bits: i32) -> Result<()> {
        self.client_max_window_bits = if bits == WINDOW_BITS_NO_VALUE {
            Some(ClientBits::NoValue)
        } else {
            window_bits("client_max_window_bits", bits)
                .map_err(|_| {
                    Error::invalid(detail!(
                        "client_max_window_bits must be 0 (unset), -1 (no value) or 8..15, got {bits}"
                    ))
                })?
                .map(ClientBits::Bits)
        };
        Ok(())
    }

    pub fn set_compress_level(&mut self, level: i32) -> Result<()> {
        if !(-1..=9).contains(&level) {
            return Err(Error::invalid(detail!(
                "compress level must be -1 or 0..9, got {level}"
            )));
        }
        self.compress.level = level;
        Ok(())
    }

    pub fn set_mem_level(&mut self, mem_level: i32) -> Result<()> {
        if !(1..=9).contains(&mem_level) {
            return Err(Error::invalid(detail!("mem_level must be 1..9, got {mem_level}")));
        }
        self.compress.mem_level = mem_level;
        Ok(())
    }

    pub fn set_strategy(&mut self, strategy: i32) -> Result<()> {
        if !(0..=STRATEGY_MAX).contains(&strategy) {
            return Err(Error::invalid(detail!(
                "strategy must be 0..{STRATEGY_MAX}, got {strategy}"
            )));
        }
        self.compress.strategy = strategy;
        Ok(())
    }

    /// The checks websockets' server factory constructor makes, done
    /// when the config is used by a server (setters cannot know the role).
    pub fn validate_for_server(&self) -> Result<Option<u8>> {
        match self.client_max_window_bits {
            Some(ClientBits::NoValue) => Err(Error::invalid(
                "client_max_window_bits without a value (-1) is for clients only",
            )),
            Some(ClientBits::Bits(b)) => Ok(Some(b)),
            None if self.require_client_max_window_bits => Err(Error::invalid(
                "require_client_max_window_bits is set but client_max_window_bits is not",
            )),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setters_validate_and_leave_config_unchanged_on_error() {
        let mut c = Config::default();
        c.set_server_max_window_bits(10).unwrap();
        for bad in [-1, 1, 7, 16, 255, i32::MIN] {
            assert!(matches!(
                c.set_server_max_window_bits(bad),
                Err(Error::InvalidArgument(_))
            ));
        }
        assert_eq!(c.server_max_window_bits, Some(10));
        c.set_client_max_window_bits(-1).unwrap();
        assert_eq!(c.client_max_window_bits, Some(ClientBits::NoValue));
        assert!(c.set_client_max_window_bits(-2).is_err());
        assert_eq!(c.client_max_window_bits, Some(ClientBits::NoValue));
        c.set_client_max_window_bits(0).unwrap();
        assert_eq!(c.client_max_window_bits, None);
        assert!(c.set_compress_level(10).is_err() && c.set_compress_level(-2).is_err());
        assert!(c.set_mem_level(0).is_err() && c.set_mem_level(10).is_err());
        assert!(c.set_strategy(5).is_err() && c.set_strategy(-1).is_err());
        assert_eq!(c.compress, CompressSettings::default());
    }

    #[test]
    fn server_validation() {
        let mut c = Config::default();
        assert_eq!(c.validate_for_server(), Ok(None));
        c.require_client_max_window_bits = true;
        assert!(matches!(c.validate_for_server(), Err(Error::InvalidArgument(_))));
        c.set_client_max_window_bits(12).unwrap();
        assert_eq!(c.validate_for_server(), Ok(Some(12)));
        c.set_client_max_window_bits(-1).unwrap();
        assert!(matches!(c.validate_for_server(), Err(Error::InvalidArgument(_))));
    }
}
