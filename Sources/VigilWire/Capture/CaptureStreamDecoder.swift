/// Reads a packet capture, classic pcap or pcapng, pushed to it in pieces (a file, or a pipe from
/// `tcpdump -w -`), and hands each whole IPv4/IPv6 UDP datagram in it to a ``CapturedDatagramConsumer``.
///
/// Pure and incremental, like ``NativeStreamDecoder``: each ``decode(_:into:)`` call reads every complete
/// record in its buffer and returns how many bytes it consumed; the caller keeps the rest and presents it
/// again with more appended. At the end, ``finish(remaining:into:)`` reports a last record cut short.
///
/// Formats: classic pcap in either byte order, microsecond (`a1b2c3d4`) and nanosecond (`a1b23c4d`) magics;
/// pcapng sections in either byte order with interface description blocks (link type, `if_tsresol` in powers
/// of 10 or 2, `if_tsoffset`), enhanced, simple (first interface; the last timestamp seen) and obsolete
/// packet blocks; other blocks are skipped by their length. Link types: 1 Ethernet (802.1Q/QinQ), 101, 12,
/// 14, 228, 229 raw IP, 113 Linux cooked (SLL), 276 SLL2, 0 null and 108 loop (BSD address family).
///
/// Errors (``FlowDecodeError``): a packet that is not a whole UDP datagram is reported and skipped
/// (`unsupported_link_type`, `not_udp`, `ip_fragment`, `truncated_capture`); a file or record header that
/// is not what it claims is `bad_capture`, after which the reader stops and consumes (ignores) everything,
/// since a capture cannot be resynchronised reliably.
///
/// Bounds: the reader holds no packet bytes itself; the caller's buffer must hold one record,
/// ``maximumRecordByteCount`` bytes. A captured packet is at most ``maximumPacketByteCount`` bytes (larger
/// is `bad_capture`); pcapng blocks that are not packets and longer than that are skipped as they stream
/// past without being held. At most ``maximumInterfaces`` interfaces per pcapng section.
public struct CaptureStreamDecoder {
    /// Whether `head` (a stream's first four bytes) is a pcap or pcapng magic, in either byte order.
    public static func startsCapture(_ head: [UInt8]) -> Bool {
        guard head.count >= 4 else { return false }
        let magic = UInt32(head[0]) << 24 | UInt32(head[1]) << 16 | UInt32(head[2]) << 8 | UInt32(head[3])
        return [0x0A0D_0D0A, 0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1].contains(magic)
    }

    /// The largest packet (classic snaplen, record length, pcapng captured length): 256 KiB.
    public static let maximumPacketByteCount = 262_144
    /// The largest record or block held whole: a packet with its headers and up to 64 KiB of options.
    public static let maximumRecordByteCount = maximumPacketByteCount + 65_536
    /// Interface description blocks one pcapng section may hold.
    public static let maximumInterfaces = 1_024

    @usableFromInline enum _Format {
        /// No header read yet.
        case unknown
        case pcap(bigEndian: Bool, nanoseconds: Bool, linkType: UInt32, snapLength: Int)
        /// `bigEndian` is the current section's order.
        case pcapng(bigEndian: Bool)
        /// A `bad_capture`: everything after it is ignored.
        case failed
    }

    /// A pcapng interface: its link type, snaplen and timestamp units.
    @usableFromInline struct _Interface {
        var linkType: UInt32
        var snapLength: Int
        /// Timestamp units: 10^-exponent seconds, or 2^-exponent when `powerOfTwo`.
        var exponent: Int
        var powerOfTwo: Bool
        var offsetSeconds: Int64
    }

    @usableFromInline var _format = _Format.unknown
    @usableFromInline var _interfaces: [_Interface] = []
    /// Stream offset of the next byte a ``decode(_:into:)`` buffer starts with.
    @usableFromInline var _streamOffset: Int64 = 0
    /// Bytes of an oversized non-packet pcapng block still to pass over.
    @usableFromInline var _skipRemaining = 0
    /// The last packet timestamp seen (a pcapng simple packet block has none of its own).
    @usableFromInline var _lastTimestampNanoseconds: Int64 = 0

    /// Packet records read.
    public internal(set) var packetCount = 0
    /// Whole UDP datagrams handed to the consumer.
    public internal(set) var datagramCount = 0

    public init() {}

    /// Stream offset of the next byte the decoder expects (everything before it is consumed).
    public var streamOffset: Int64 { _streamOffset }

    /// Whether a `bad_capture` stopped the reader.
    public var hasFailed: Bool {
        if case .failed = _format { return true }
        return false
    }

    /// Reads every complete record in `bytes`.
    /// - Parameters:
    ///   - bytes: the unconsumed tail of the previous call followed by new bytes.
    ///   - consumer: receives datagrams, packet counts and errors.
    /// - Returns: bytes consumed from the front of `bytes`; the caller keeps the rest for the next call.
    public mutating func decode<D: CapturedDatagramConsumer>(
        _ bytes: UnsafeRawBufferPointer,
        into consumer: inout D
    ) -> Int {
        var position = 0
        defer { _streamOffset += Int64(position) }
        while true {
            if _skipRemaining > 0 {
                let step = min(_skipRemaining, bytes.count - position)
                position += step
                _skipRemaining -= step
                guard _skipRemaining == 0 else { return position }
            }
            let rest = UnsafeRawBufferPointer(rebasing: bytes[position...])
            let recordOffset = _streamOffset + Int64(position)
            let used: Int
            switch _format {
            case .failed:
                position = bytes.count
                return position
            case .unknown:
                used = _readFileHeader(rest, at: recordOffset, into: &consumer)
            case .pcap(let bigEndian, let nanoseconds, let linkType, let snapLength):
                used = _readPcapRecord(
                    rest,
                    bigEndian: bigEndian,
                    nanoseconds: nanoseconds,
                    linkType: linkType,
                    snapLength: snapLength,
                    at: recordOffset,
                    into: &consumer
                )
            case .pcapng(let bigEndian):
                used = _readBlock(rest, bigEndian: bigEndian, at: recordOffset, into: &consumer)
            }
            guard used > 0 else { return position }
            position += used
        }
    }

    /// Reads what is left at the end of the stream and reports a last record cut short
    /// (`truncated_capture`).
    /// - Parameter remaining: the bytes the last ``decode(_:into:)`` did not consume.
    public mutating func finish<D: CapturedDatagramConsumer>(
        remaining: UnsafeRawBufferPointer,
        into consumer: inout D
    ) {
        let used = decode(remaining, into: &consumer)
        if hasFailed { return }
        let left = remaining.count - used
        if _skipRemaining > 0 {
            consumer.captureError(
                .init(
                    .truncatedCapture,
                    offset: Int(_streamOffset),
                    "the capture ends \(_skipRemaining) bytes before the end of the block being skipped"
                )
            )
        } else if left > 0 {
            let what: String
            switch _format {
            case .unknown: what = "its file header"
            case .pcap: what = "a record (16-byte header and packet)"
            default: what = "a block"
            }
            consumer.captureError(
                .init(.truncatedCapture, offset: Int(_streamOffset), "the capture ends \(left) bytes into \(what)")
            )
        }
    }

    /// Stops the reader with a `bad_capture` error; returns 0 so the caller's loop ends.
    mutating func _fail<D: CapturedDatagramConsumer>(
        at offset: Int64,
        _ detail: String,
        into consumer: inout D
    )
        -> Int
    {
        _format = .failed
        consumer.captureError(.init(.badCapture, offset: Int(offset), detail))
        return 0
    }

    /// Reads the classic pcap global header, or recognises a pcapng section header block (read as a block).
    /// Returns the bytes used, 0 when more are needed (or the reader failed).
    mutating func _readFileHeader<D: CapturedDatagramConsumer>(
        _ bytes: UnsafeRawBufferPointer,
        at offset: Int64,
        into consumer: inout D
    ) -> Int {
        guard bytes.count >= 4 else { return 0 }
        let magic = bytes._loadBigEndian32(at: 0)
        let bigEndian: Bool
        let nanoseconds: Bool
        switch magic {
        case 0x0A0D_0D0A:
            _format = .pcapng(bigEndian: true)  // The section header block's byte-order magic decides.
            return _readBlock(bytes, bigEndian: true, at: offset, into: &consumer)
        case 0xA1B2_C3D4: (bigEndian, nanoseconds) = (true, false)
        case 0xD4C3_B2A1: (bigEndian, nanoseconds) = (false, false)
        case 0xA1B2_3C4D: (bigEndian, nanoseconds) = (true, true)
        case 0x4D3C_B2A1: (bigEndian, nanoseconds) = (false, true)
        default:
            return _fail(
                at: offset,
                "magic 0x\(String(magic, radix: 16)) is neither pcap (a1b2c3d4, a1b23c4d) nor pcapng (0a0d0d0a)",
                into: &consumer
            )
        }
        guard bytes.count >= 24 else { return 0 }
        let snapLength = Int(bytes._load32(at: 16, bigEndian: bigEndian))
        guard snapLength > 0 && snapLength <= Self.maximumPacketByteCount else {
            return _fail(
                at: offset + 16,
                "snaplen \(snapLength) outside 1...\(Self.maximumPacketByteCount)",
                into: &consumer
            )
        }
        // The link type is the low 28 bits; the top 4 may describe an FCS.
        let linkType = bytes._load32(at: 20, bigEndian: bigEndian) & 0x0FFF_FFFF
        _format = .pcap(bigEndian: bigEndian, nanoseconds: nanoseconds, linkType: linkType, snapLength: snapLength)
        return 24
    }

    /// Reads one classic pcap record (16-byte header, then the packet). Returns the bytes used, 0 when more
    /// are needed (or the reader failed).
    mutating func _readPcapRecord<D: CapturedDatagramConsumer>(
        _ bytes: UnsafeRawBufferPointer,
        bigEndian: Bool,
        nanoseconds: Bool,
        linkType: UInt32,
        snapLength: Int,
        at offset: Int64,
        into consumer: inout D
    ) -> Int {
        guard bytes.count >= 16 else { return 0 }
        let includedLength = Int(bytes._load32(at: 8, bigEndian: bigEndian))
        guard includedLength <= snapLength && includedLength <= Self.maximumPacketByteCount else {
            return _fail(
                at: offset + 8,
                "record of \(includedLength) bytes, above the snaplen \(snapLength)",
                into: &consumer
            )
        }
        guard bytes.count >= 16 + includedLength else { return 0 }
        let seconds = Int64(bytes._load32(at: 0, bigEndian: bigEndian))
        let fraction = Int64(bytes._load32(at: 4, bigEndian: bigEndian))
        let timestamp = seconds &* 1_000_000_000 &+ (nanoseconds ? fraction : fraction &* 1_000)
        let originalLength = Int(bytes._load32(at: 12, bigEndian: bigEndian))
        _packet(
            UnsafeRawBufferPointer(rebasing: bytes[16..<(16 + includedLength)]),
            linkType: linkType,
            originalLength: originalLength,
            timestampNanoseconds: timestamp,
            at: offset,
            into: &consumer
        )
        return 16 + includedLength
    }
}
