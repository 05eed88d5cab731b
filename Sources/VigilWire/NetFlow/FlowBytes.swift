/// Big-endian reads from a datagram. Every caller has checked that the bytes are there: these helpers are
/// the one place flow decoders load memory, so the bounds checks before them are the whole safety story.
@usableFromInline
enum _FlowBytes {
    @inlinable
    @inline(__always)
    static func u8(_ base: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        base.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inlinable
    @inline(__always)
    static func u16(_ base: UnsafeRawPointer, _ offset: Int) -> UInt16 {
        UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable
    @inline(__always)
    static func u32(_ base: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable
    @inline(__always)
    static func u64(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// An unsigned integer of 1 to 8 bytes (RFC 7011 6.2 reduced-size encoding: the value's low bytes,
    /// big-endian). Lengths outside 1...8 are excluded when the template is compiled.
    @inlinable
    @inline(__always)
    static func unsigned(_ base: UnsafeRawPointer, _ offset: Int, length: Int) -> UInt64 {
        switch length {
        case 1: return UInt64(u8(base, offset))
        case 2: return UInt64(u16(base, offset))
        case 4: return UInt64(u32(base, offset))
        case 8: return u64(base, offset)
        default:
            var value: UInt64 = 0
            var index = 0
            while index < length {
                value = value << 8 | UInt64(u8(base, offset &+ index))
                index &+= 1
            }
            return value
        }
    }

    /// Up to the first 8 bytes of `bytes` as hex, for error details.
    static func hexPrefix(_ bytes: UnsafeRawBufferPointer, maximumByteCount: Int = 8) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        for byte in bytes.prefix(maximumByteCount) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return text.isEmpty ? "(empty)" : text
    }
}

/// Uptime-based flow times (NetFlow v5/v9 `first`/`last`, milliseconds of the exporter's sysUptime) to Unix
/// milliseconds: the export time less how long before it the flow time was. The difference is taken modulo
/// 2^32 and read as signed, so an uptime that wrapped (every 49.7 days) between the two still converts, and
/// a flow time slightly after the header's uptime (a clock quirk) gives a time just after the export.
@inlinable
@inline(__always)
func _flowEpochMilliseconds(
    uptimeMilliseconds flowUptime: UInt32,
    headerUptime: UInt32,
    exportMilliseconds: Int64
)
    -> Int64
{
    exportMilliseconds &- Int64(Int32(bitPattern: headerUptime &- flowUptime))
}
