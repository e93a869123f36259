"""Media core: forward encoded media between participants without transcoding."""

from .active_speaker import ActiveSpeakerDetector, SpeakerSettings
from .aiortc_internals import AIORTC_VERSION
from .fanout import (
    CodecInfo,
    PacketSink,
    PublisherReport,
    RtpSink,
    SenderReportSink,
    TrackFanout,
    is_keyframe,
)
from .forwarded_track import ForwardedTrack
from .keyframe import DEFAULT_KEYFRAME_INTERVAL, KeyframeRequester
from .peer import (
    MAX_SDP_BYTES,
    NegotiationError,
    OfferResult,
    RenegotiateCallback,
    ServerPeer,
    validate_sdp,
)
from .policy import SOURCES, AllowAll, ForwardingPolicy, Kind, Source, TrackKey, kind_of
from .room import SPEAKER_INTERVAL, ActiveSpeakerCallback, MediaRoom
from .rtp_forwarding import FORWARDING_MODES, ForwardingMode, RtpOutgoingStream
from .stats import ConnectionStats, StatsSampler

__all__ = [
    "AIORTC_VERSION",
    "DEFAULT_KEYFRAME_INTERVAL",
    "FORWARDING_MODES",
    "MAX_SDP_BYTES",
    "SOURCES",
    "SPEAKER_INTERVAL",
    "ActiveSpeakerCallback",
    "ActiveSpeakerDetector",
    "AllowAll",
    "CodecInfo",
    "ConnectionStats",
    "ForwardedTrack",
    "ForwardingMode",
    "ForwardingPolicy",
    "KeyframeRequester",
    "Kind",
    "MediaRoom",
    "NegotiationError",
    "OfferResult",
    "PacketSink",
    "PublisherReport",
    "RenegotiateCallback",
    "RtpOutgoingStream",
    "RtpSink",
    "SenderReportSink",
    "ServerPeer",
    "Source",
    "SpeakerSettings",
    "StatsSampler",
    "TrackFanout",
    "TrackKey",
    "is_keyframe",
    "kind_of",
    "validate_sdp",
]
