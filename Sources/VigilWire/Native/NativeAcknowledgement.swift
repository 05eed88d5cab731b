import VigilCore

/// A sender's hello (frame type 3): who it is, so that Vigil recognises its frames after a reconnect from
/// another address and port, and whether it wants acknowledgements (docs/wire-format.md,
/// "Acknowledgements").
///
/// Payload, 16 bytes: `u64 senderID` (not 0), `u32 flags` (bit 0: send acknowledgements), `u32 reserved`.
public struct NativeHello: Sendable, Equatable {
    /// Chosen by the sender (random, say) and kept across its reconnects and restarts.
    public var senderID: UInt64
    public var wantsAcknowledgements: Bool

    public static let payloadByteCount = 16

    public init(senderID: UInt64, wantsAcknowledgements: Bool) {
        self.senderID = senderID
        self.wantsAcknowledgements = wantsAcknowledgements
    }

    /// Parses a hello payload; nil when it is not 16 bytes or its sender id is 0.
    @inlinable
    public init?(payload: UnsafeRawBufferPointer) {
        guard payload.count == Self.payloadByteCount else { return nil }
        let senderID = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        let flags = UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        guard senderID != 0 else { return nil }
        self.init(senderID: senderID, wantsAcknowledgements: flags & 1 != 0)
    }

    /// Appends the hello as a frame.
    public func appendFrame(to out: inout [UInt8]) {
        var payload: [UInt8] = []
        payload.reserveCapacity(Self.payloadByteCount)
        withUnsafeBytes(of: senderID.littleEndian) { payload.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(wantsAcknowledgements ? 1 : 0).littleEndian) { payload.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(0)) { payload.append(contentsOf: $0) }
        payload.withUnsafeBytes {
            NativeEncoder.appendFrame(typeRawValue: NativeFrameType.hello.rawValue, payload: $0, to: &out)
        }
    }
}

/// What Vigil did with a sender's numbered frames (frame type 4, from Vigil to the sender): ranges of
/// sequence numbers, each with a status.
///
/// Payload: `u64 senderID`, `u32 count`, `u32 reserved`, then `count` × (`u32 first`, `u32 last`,
/// `u32 status`): every sequence number from `first` through `last` (serial arithmetic: it may wrap) has that
/// status.
public struct NativeAcknowledgement: Sendable, Equatable {
    public enum Status: UInt32, Sendable {
        /// Decoded and through ingest: its samples were each aggregated or counted under a reason. Do not
        /// send it again.
        case accepted = 0
        /// Already accepted earlier under this sender id (a retry): skipped, not counted twice.
        case duplicate = 1
        /// Older than the window of sequence numbers Vigil remembers for this sender (4,096 frames): skipped,
        /// since it may have been accepted. Senders keep fewer unacknowledged frames than that.
        case stale = 2
        /// Its payload was malformed (a schema or data frame the decoder refused): nothing of it was taken.
        case rejected = 3
    }

    public struct Range: Sendable, Equatable {
        public var first: UInt32
        public var last: UInt32
        public var status: Status

        public init(first: UInt32, last: UInt32, status: Status) {
            self.first = first
            self.last = last
            self.status = status
        }
    }

    public var senderID: UInt64
    public var ranges: [Range]

    public init(senderID: UInt64, ranges: [Range]) {
        self.senderID = senderID
        self.ranges = ranges
    }

    static let prefixByteCount = 16
    static let rangeByteCount = 12

    /// Appends the acknowledgement as a frame.
    public func appendFrame(to out: inout [UInt8]) {
        var payload: [UInt8] = []
        payload.reserveCapacity(Self.prefixByteCount + Self.rangeByteCount * ranges.count)
        func append<Integer: FixedWidthInteger>(_ value: Integer) {
            withUnsafeBytes(of: value.littleEndian) { payload.append(contentsOf: $0) }
        }
        append(senderID)
        append(UInt32(ranges.count))
        append(UInt32(0))
        for range in ranges {
            append(range.first)
            append(range.last)
            append(range.status.rawValue)
        }
        payload.withUnsafeBytes {
            NativeEncoder.appendFrame(typeRawValue: NativeFrameType.acknowledgement.rawValue, payload: $0, to: &out)
        }
    }

    /// Parses an acknowledgement payload; nil when malformed (a length that does not match its count, an
    /// unknown status).
    public init?(payload: UnsafeRawBufferPointer) {
        guard payload.count >= Self.prefixByteCount else { return nil }
        let senderID = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        let count = Int(UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        guard payload.count == Self.prefixByteCount + Self.rangeByteCount * count else { return nil }
        var ranges: [Range] = []
        ranges.reserveCapacity(count)
        for index in 0..<count {
            let offset = Self.prefixByteCount + Self.rangeByteCount * index
            func load(_ field: Int) -> UInt32 {
                UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: offset + 4 * field, as: UInt32.self))
            }
            guard let status = Status(rawValue: load(2)) else { return nil }
            ranges.append(Range(first: load(0), last: load(1), status: status))
        }
        self.init(senderID: senderID, ranges: ranges)
    }

    /// The acknowledgements among whole frames at the start of `bytes` (a sender reading what Vigil sent
    /// back), and how many bytes they took; a trailing partial frame is left for the next call. Frames of
    /// other types, or damaged ones, are skipped.
    public static func decodeFrames(_ bytes: UnsafeRawBufferPointer) -> (acknowledgements: [Self], consumed: Int) {
        var acknowledgements: [Self] = []
        var position = 0
        while bytes.count - position >= NativeFormat.headerByteCount {
            let header = bytes.baseAddress! + position
            let length = Int(UInt32(littleEndian: header.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
            guard bytes.count - position - NativeFormat.headerByteCount >= length else { break }
            let payload = UnsafeRawBufferPointer(start: header + NativeFormat.headerByteCount, count: length)
            let stored = UInt32(littleEndian: header.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
            if header.load(fromByteOffset: 5, as: UInt8.self) == NativeFrameType.acknowledgement.rawValue,
                CRC32C.checksum(payload) == stored, let acknowledgement = Self(payload: payload)
            {
                acknowledgements.append(acknowledgement)
            }
            position += NativeFormat.headerByteCount + length
        }
        return (acknowledgements, position)
    }
}

extension NativeEncoder {
    /// Numbers every frame in `bytes[range]` (whole frames, back to back) from `firstSequence` on: sets the
    /// header's sequenced flag and sequence number and recomputes its checksum. A sender that wants
    /// acknowledgements numbers its schema and data frames this way after encoding them.
    /// - Returns: the next sequence number.
    @discardableResult
    public static func numberFrames(in bytes: inout [UInt8], range: Swift.Range<Int>, firstSequence: UInt32) -> UInt32 {
        var sequence = firstSequence
        var position = range.lowerBound
        bytes.withUnsafeMutableBytes { buffer in
            while range.upperBound - position >= NativeFormat.headerByteCount {
                let header = buffer.baseAddress! + position
                let length = Int(
                    UInt32(
                        littleEndian: header.loadUnaligned(
                            fromByteOffset: _NativeHeader.payloadLengthOffset,
                            as: UInt32.self
                        )
                    )
                )
                header.storeBytes(
                    of: NativeFormat.sequencedFlag.littleEndian,
                    toByteOffset: _NativeHeader.flagsOffset,
                    as: UInt16.self
                )
                header.storeBytes(
                    of: sequence.littleEndian,
                    toByteOffset: _NativeHeader.reservedOffset,
                    as: UInt32.self
                )
                _storeHeaderChecksum(header)
                sequence &+= 1
                position += NativeFormat.headerByteCount + length
            }
        }
        return sequence
    }
}
