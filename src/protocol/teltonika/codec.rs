//! The codec id byte: the one list of Teltonika wire codes trackgate understands.

/// A Teltonika codec id (first byte of an AVL packet's data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// 0x07: GH3000 personal trackers; bit-masked records, float coordinates.
    Gh3000,
    /// 0x08: Codec 8, 1-byte IO ids and counts.
    C8,
    /// 0x8E: Codec 8 Extended, 2-byte IO ids and counts plus variable-length (NX) values.
    C8Ext,
    /// 0x0C: Codec 12, GPRS command / command reply (text or binary payload).
    C12,
    /// 0x0D: Codec 13, command reply with a device timestamp.
    C13,
    /// 0x10: Codec 16, 2-byte IO ids, 1-byte counts, generation type.
    C16,
}

impl Codec {
    /// The wire byte.
    pub fn id(self) -> u8 {
        match self {
            Codec::Gh3000 => 0x07,
            Codec::C8 => 0x08,
            Codec::C8Ext => 0x8E,
            Codec::C12 => 0x0C,
            Codec::C13 => 0x0D,
            Codec::C16 => 0x10,
        }
    }

    /// The codec for a wire byte, `None` for ids trackgate does not decode (e.g. 0x0E, 0x0F).
    pub fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0x07 => Codec::Gh3000,
            0x08 => Codec::C8,
            0x8E => Codec::C8Ext,
            0x0C => Codec::C12,
            0x0D => Codec::C13,
            0x10 => Codec::C16,
            _ => return None,
        })
    }

    /// The `Decoded.kind` label, e.g. `codec 8e`.
    pub fn label(self) -> &'static str {
        match self {
            Codec::Gh3000 => "codec 7 (gh3000)",
            Codec::C8 => "codec 8",
            Codec::C8Ext => "codec 8e",
            Codec::C12 => "codec 12",
            Codec::C13 => "codec 13",
            Codec::C16 => "codec 16",
        }
    }

    /// True for codecs that carry AVL records (and so get a record-count ACK).
    pub fn is_avl(self) -> bool {
        matches!(self, Codec::Gh3000 | Codec::C8 | Codec::C8Ext | Codec::C16)
    }

    /// IO ids are 2 bytes wide (8E and 16) instead of 1.
    pub fn wide_ids(self) -> bool {
        matches!(self, Codec::C8Ext | Codec::C16)
    }

    /// IO counts are 2 bytes wide: only 8 Extended (the event IO id follows `wide_ids`).
    pub fn wide_counts(self) -> bool {
        matches!(self, Codec::C8Ext)
    }
}
