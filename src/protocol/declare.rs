//! The scaffolding every protocol module is built on, so that a module supplies only what
//! differs. A stream protocol implements [`StreamProtocol`] (name, port, state, framer,
//! decoder) and gets [`ProtocolSpec`], the registry trait [`Protocol`] and its per-connection
//! [`Decoder`] ([`StreamDecoder`]) from blanket implementations here; a message protocol
//! (HTTP, MQTT) implements [`ProtocolSpec`] and its own [`Decoder`]. See the module doc of
//! `protocol` for a complete example.
//!
//! Everything is resolved at compile time: `StreamDecoder<P>` calls `P`'s functions
//! directly, so the only dynamic dispatch per frame is the one the ingest shell already pays
//! through `Box<dyn Decoder>`.

use super::command::CommandCodec;
use super::wire::Cut;
use super::{
    ChecksumPolicy, Credential, DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions,
    FrameResult, FromOptions, OptionsError, Protocol, Transports,
};
use crate::model::DeviceId;
use bytes::BytesMut;

/// What a protocol module declares about itself; [`Protocol`] (the registry entry) is
/// implemented for every `ProtocolSpec` by a blanket impl. Stream protocols get it from
/// [`StreamProtocol`]; message protocols implement it on the unit struct that goes into
/// `REGISTRY`.
pub trait ProtocolSpec: Send + Sync + 'static {
    /// Registry name: config tables, metrics labels, the `protocol` tag.
    const NAME: &'static str;
    /// Default listen port (Traccar's, which installers know).
    const DEFAULT_PORT: u16;
    /// Socket kinds served by default.
    const TRANSPORTS: Transports;
    /// Served over HTTP (one request = one frame) on the `listen` address.
    const HTTP: bool = false;
    /// The per-connection decoder; for stream protocols a [`StreamDecoder`].
    type Decoder: Decoder + 'static;
    /// A decoder for one connection or peer; fails on bad `[protocols.<name>.options]`.
    fn decoder(opts: &DecoderOptions) -> Result<Self::Decoder, OptionsError>;
    /// The downlink command codec (see [`Protocol::commands`]); none by default.
    fn commands() -> Option<&'static dyn CommandCodec> {
        None
    }
}

impl<T: ProtocolSpec> Protocol for T {
    fn name(&self) -> &'static str {
        T::NAME
    }
    fn default_port(&self) -> u16 {
        T::DEFAULT_PORT
    }
    fn transports(&self) -> Transports {
        T::TRANSPORTS
    }
    fn new_decoder(&self, opts: &DecoderOptions) -> Result<Box<dyn Decoder>, OptionsError> {
        Ok(Box::new(T::decoder(opts)?))
    }
    fn http(&self) -> bool {
        T::HTTP
    }
    fn commands(&self) -> Option<&'static dyn CommandCodec> {
        T::commands()
    }
}

/// A stream protocol (TCP, and UDP datagrams as frames), declared in one place: its registry
/// facts, its per-connection state built from the options, a pure framer and a frame
/// decoder. [`ProtocolSpec`] (and so [`Protocol`]) follows by a blanket impl, with
/// [`StreamDecoder<Self>`] as the decoder. Implement it on the unit struct that goes into
/// `REGISTRY`.
pub trait StreamProtocol: Send + Sync + Sized + 'static {
    /// Registry name: config tables, metrics labels, the `protocol` tag.
    const NAME: &'static str;
    /// Default listen port (Traccar's, which installers know).
    const DEFAULT_PORT: u16;
    /// Socket kinds served by default.
    const TRANSPORTS: Transports;

    /// What a connection keeps beyond the [`StreamDecoder`] fields: parsed options, counters,
    /// partial messages; built from `[protocols.<name>.options]` when the decoder is created.
    /// `()` when there is nothing (and then every option key is rejected).
    type State: FromOptions;

    /// Where the next frame in `buf` ends. Decides from the bytes alone (plus the state, e.g.
    /// a learnt frame length) and never asks to hold more than `d.max_frame` bytes.
    fn cut(d: &mut StreamDecoder<Self>, buf: &[u8]) -> Cut;

    /// Cuts the next frame off the connection buffer. The default applies
    /// [`StreamProtocol::cut`]; override it only to transform the cut bytes (the watch
    /// protocol unescapes its frames here).
    #[inline]
    fn frame(d: &mut StreamDecoder<Self>, buf: &mut BytesMut) -> FrameResult {
        Self::cut(d, buf).apply(buf)
    }

    /// Decodes one frame returned by [`StreamProtocol::frame`]. A frame that identifies the
    /// device sets [`Decoded::identity`] and must leave it in [`StreamDecoder::device`]: set
    /// it while decoding (decoders that check it for later frames do), or pass the result
    /// through [`StreamDecoder::remember`]. The registry-wide test
    /// `every_stream_protocol_remembers_the_identity_of_its_fixtures` checks it.
    fn decode(
        d: &mut StreamDecoder<Self>,
        frame: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError>;

    /// The credential the last decoded frame carried (see [`Decoder::take_credential`]);
    /// protocols without device secrets keep the default.
    fn take_credential(d: &mut StreamDecoder<Self>) -> Option<Credential> {
        let _ = d;
        None
    }

    /// See [`Decoder::requires_credential`].
    fn requires_credential(d: &StreamDecoder<Self>) -> bool {
        let _ = d;
        false
    }

    /// Decodes one UDP datagram; by default the datagram is one frame.
    fn decode_datagram(
        d: &mut StreamDecoder<Self>,
        datagram: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        Self::decode(d, datagram, ctx)
    }

    /// The downlink command codec (see [`Protocol::commands`]); none by default.
    fn commands() -> Option<&'static dyn CommandCodec> {
        None
    }
}

impl<P: StreamProtocol> ProtocolSpec for P {
    const NAME: &'static str = P::NAME;
    const DEFAULT_PORT: u16 = P::DEFAULT_PORT;
    const TRANSPORTS: Transports = P::TRANSPORTS;
    type Decoder = StreamDecoder<P>;
    fn decoder(opts: &DecoderOptions) -> Result<StreamDecoder<P>, OptionsError> {
        StreamDecoder::new(opts)
    }
    fn commands() -> Option<&'static dyn CommandCodec> {
        <P as StreamProtocol>::commands()
    }
}

/// The [`Decoder`] of a stream protocol `P`: the fields every one of them keeps, plus `P`'s
/// own state. Protocols name it with a type alias (`Gt06Decoder`).
pub struct StreamDecoder<P: StreamProtocol> {
    /// The device this connection (or UDP peer) identified as, once known.
    pub device: Option<DeviceId>,
    /// Largest frame the framer accepts (`DecoderOptions::max_frame`).
    pub max_frame: usize,
    /// What to do with a frame whose checksum does not match.
    pub checksum: ChecksumPolicy,
    /// Protocol-specific state: parsed options, counters, partial messages.
    pub state: P::State,
}

impl<P: StreamProtocol> StreamDecoder<P> {
    /// A decoder for one connection or UDP peer; fails on bad options.
    pub fn new(opts: &DecoderOptions) -> Result<Self, OptionsError> {
        Ok(StreamDecoder {
            device: None,
            max_frame: opts.max_frame,
            checksum: opts.checksum,
            state: P::State::from_options(P::NAME, opts)?,
        })
    }

    /// Remembers the identity a decoded frame carried as [`StreamDecoder::device`]. Compares
    /// first, so a protocol that names the device in every frame does not allocate a copy
    /// per frame. For decoders that return the identity without setting `device` themselves:
    /// `decode(...).inspect(|out| d.remember(out))`.
    #[inline]
    pub fn remember(&mut self, out: &Decoded) {
        if let Some(id) = &out.identity {
            if self.device.as_ref() != Some(id) {
                self.device = Some(id.clone());
            }
        }
    }
}

impl<P: StreamProtocol> Decoder for StreamDecoder<P> {
    #[inline]
    fn frame(&mut self, buf: &mut BytesMut) -> FrameResult {
        P::frame(self, buf)
    }

    // A plain tail call on purpose: anything done here with the (large) result after the call
    // costs a copy of it per frame, which is why remembering the identity is `P::decode`'s job.
    #[inline]
    fn decode(&mut self, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        P::decode(self, frame, ctx)
    }

    fn decode_datagram(
        &mut self,
        datagram: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        P::decode_datagram(self, datagram, ctx)
    }

    fn device(&self) -> Option<&DeviceId> {
        self.device.as_ref()
    }

    fn take_credential(&mut self) -> Option<Credential> {
        P::take_credential(self)
    }

    fn requires_credential(&self) -> bool {
        P::requires_credential(self)
    }
}

impl<P: StreamProtocol> Clone for StreamDecoder<P>
where
    P::State: Clone,
{
    fn clone(&self) -> Self {
        StreamDecoder {
            device: self.device.clone(),
            max_frame: self.max_frame,
            checksum: self.checksum,
            state: self.state.clone(),
        }
    }
}

impl<P: StreamProtocol> std::fmt::Debug for StreamDecoder<P>
where
    P::State: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamDecoder")
            .field("protocol", &P::NAME)
            .field("device", &self.device)
            .field("max_frame", &self.max_frame)
            .field("checksum", &self.checksum)
            .field("state", &self.state)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{test_util, REGISTRY};
    use super::*;

    use test_util::fixtures;

    /// The contract of `StreamProtocol::decode`, for every stream protocol in the registry:
    /// after a frame that carries an identity, `device()` is that identity. Fails when a
    /// protocol has no fixture frame that identifies a device, so it cannot pass empty.
    #[test]
    fn every_stream_protocol_remembers_the_identity_of_its_fixtures() {
        let ctx = test_util::ctx();
        for p in REGISTRY.iter().filter(|p| p.transports().tcp) {
            let mut identified = 0;
            for frame in fixtures(p.name(), "tcp") {
                let mut d = p.new_decoder(&DecoderOptions::default()).expect("decoder");
                for f in test_util::frames(d.as_mut(), &frame, frame.len()) {
                    if let Ok(Decoded {
                        identity: Some(id), ..
                    }) = d.decode(&f, &ctx)
                    {
                        assert_eq!(d.device(), Some(&id), "{}: {}", p.name(), hex::encode(&f));
                        identified += 1;
                    }
                }
            }
            for datagram in fixtures(p.name(), "udp") {
                let mut d = p.new_decoder(&DecoderOptions::default()).expect("decoder");
                if let Ok(Decoded {
                    identity: Some(id), ..
                }) = d.decode_datagram(&datagram, &ctx)
                {
                    assert_eq!(d.device(), Some(&id), "{} (udp)", p.name());
                }
            }
            assert!(
                identified > 0,
                "{}: no fixture identifies a device",
                p.name()
            );
        }
    }
}
