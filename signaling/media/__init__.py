"""Media core: forward encoded media between participants without transcoding."""

from .aiortc_internals import AIORTC_VERSION
from .fanout import CodecInfo, PacketSink, TrackFanout, is_keyframe
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
from .room import MediaRoom
from .stats import ConnectionStats, StatsSampler

__all__ = [
    "AIORTC_VERSION",
    "DEFAULT_KEYFRAME_INTERVAL",
    "MAX_SDP_BYTES",
    "SOURCES",
    "AllowAll",
    "CodecInfo",
    "ConnectionStats",
    "ForwardedTrack",
    "ForwardingPolicy",
    "KeyframeRequester",
    "Kind",
    "MediaRoom",
    "NegotiationError",
    "OfferResult",
    "PacketSink",
    "RenegotiateCallback",
    "ServerPeer",
    "Source",
    "StatsSampler",
    "TrackFanout",
    "TrackKey",
    "is_keyframe",
    "kind_of",
    "validate_sdp",
]
