/// An IPv4 or IPv6 address in 16 bytes: IPv4 as the IPv4-mapped IPv6 address `::ffff:a.b.c.d` (RFC 4291
/// 2.5.5.2), so one fixed-size type keys every table and no record allocates.
public struct IPAddress: Hashable, Sendable, Comparable {
    /// The address's first 8 bytes, big-endian (network order) as a number.
    public var high: UInt64
    /// The address's last 8 bytes, big-endian as a number.
    public var low: UInt64

    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The unspecified address `::` (a field the record did not carry).
    public static let unspecified = IPAddress(high: 0, low: 0)

    /// An IPv4 address given as its 32-bit number (`a.b.c.d` = `a << 24 | b << 16 | c << 8 | d`).
    @inlinable
    public init(ipv4 value: UInt32) {
        self.high = 0
        self.low = 0x0000_FFFF_0000_0000 | UInt64(value)
    }

    /// Reads an address of `byteCount` 4 (IPv4) or 16 (IPv6) bytes at `offset`; other lengths give `nil`.
    /// The caller has checked that the bytes are there.
    @inlinable
    public init?(bytes: UnsafeRawPointer, byteCount: Int) {
        switch byteCount {
        case 4:
            self.init(ipv4: UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self)))
        case 16:
            self.init(
                high: UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)),
                low: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            )
        default:
            return nil
        }
    }

    /// Whether this is an IPv4-mapped address.
    @inlinable
    public var isIPv4: Bool { high == 0 && low >> 32 == 0x0000_FFFF }

    /// The IPv4 address as a number, if this is one.
    @inlinable
    public var ipv4: UInt32? { isIPv4 ? UInt32(truncatingIfNeeded: low) : nil }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

extension IPAddress: CustomStringConvertible {
    /// Dotted quad for IPv4; RFC 5952 text (lower case, the longest run of zero groups as `::`) for IPv6.
    public var description: String {
        if let v4 = ipv4 {
            return "\(v4 >> 24).\((v4 >> 16) & 0xFF).\((v4 >> 8) & 0xFF).\(v4 & 0xFF)"
        }
        var groups = [UInt16]()
        groups.reserveCapacity(8)
        for shift in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(truncatingIfNeeded: high >> shift)) }
        for shift in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(truncatingIfNeeded: low >> shift)) }
        // The longest run of two or more zero groups (the first of equal runs) becomes "::".
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > bestLength {
                bestStart = index
                bestLength = end - index
            }
            index = end
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension IPAddress {
    /// Parses `192.0.2.1` or an IPv6 address in any RFC 4291 text form; nil for anything else.
    public init?(parsing text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(ipv4: UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        self = withUnsafeBytes(of: &v6) { IPAddress(bytes: $0.baseAddress!, byteCount: 16)! }
    }
}
