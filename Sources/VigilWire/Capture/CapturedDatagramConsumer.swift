/// Receives what a ``CaptureStreamDecoder`` finds, in capture order. The decoder is generic over it (no
/// existential call per packet).
public protocol CapturedDatagramConsumer {
    /// One captured IPv4 or IPv6 UDP datagram, whole (not cut by the snaplen, not a fragment).
    /// - Parameters:
    ///   - payload: the UDP payload; valid only during the call.
    ///   - timestampNanoseconds: the capture's timestamp, nanoseconds since the Unix epoch.
    mutating func capturedDatagram(
        _ payload: UnsafeRawBufferPointer,
        source: IPAddress,
        sourcePort: UInt16,
        destination: IPAddress,
        destinationPort: UInt16,
        timestampNanoseconds: Int64
    )
    /// A packet that gave no datagram (`not_udp`, `ip_fragment`, `truncated_capture`,
    /// `unsupported_link_type`: the reader goes on), or a capture that cannot be read further (`bad_capture`:
    /// the reader stops). The offset is the record's (or block's) in the stream.
    mutating func captureError(_ error: FlowDecodeError)
    /// Every packet record read, before its datagram or error (for `vigil inspect`'s packet count).
    mutating func capturedPacket()
}

extension CapturedDatagramConsumer {
    public mutating func capturedPacket() {}
}
