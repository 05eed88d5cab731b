/// Hides the host part of flow records' addresses before anything is kept (series, sketches, summaries):
/// for operators bound by data-protection rules. Truncation keeps the first `ipv4PrefixBits` of an IPv4
/// address and the first `ipv6PrefixBits` of an IPv6 one and zeroes the rest (`10.1.2.3` with 24 bits is
/// `10.1.2.0`), so top talkers become top networks. Exporter addresses (the routers' own) are kept.
public struct IPAnonymizer: Sendable, Equatable {
    public let ipv4PrefixBits: Int
    public let ipv6PrefixBits: Int
    @usableFromInline let ipv4Mask: UInt32
    @usableFromInline let highMask: UInt64
    @usableFromInline let lowMask: UInt64

    /// - Precondition: `ipv4PrefixBits` in 0...32, `ipv6PrefixBits` in 0...128.
    public init(ipv4PrefixBits: Int, ipv6PrefixBits: Int) {
        precondition((0...32).contains(ipv4PrefixBits) && (0...128).contains(ipv6PrefixBits))
        self.ipv4PrefixBits = ipv4PrefixBits
        self.ipv6PrefixBits = ipv6PrefixBits
        ipv4Mask = ipv4PrefixBits == 0 ? 0 : UInt32.max << (32 - ipv4PrefixBits)
        highMask = ipv6PrefixBits == 0 ? 0 : ipv6PrefixBits >= 64 ? .max : UInt64.max << (64 - ipv6PrefixBits)
        lowMask = ipv6PrefixBits <= 64 ? 0 : ipv6PrefixBits == 128 ? .max : UInt64.max << (128 - ipv6PrefixBits)
    }

    /// `truncate:V4` or `truncate:V4,V6` (`truncate:24,48`); nil for anything else.
    public init?(parsing text: String) {
        guard text.hasPrefix("truncate:") else { return nil }
        let numbers = text.dropFirst("truncate:".count).split(separator: ",", omittingEmptySubsequences: false)
        guard (1...2).contains(numbers.count), let v4 = Int(numbers[0]), (0...32).contains(v4) else { return nil }
        var v6 = 48
        if numbers.count == 2 {
            guard let parsed = Int(numbers[1]), (0...128).contains(parsed) else { return nil }
            v6 = parsed
        }
        self.init(ipv4PrefixBits: v4, ipv6PrefixBits: v6)
    }

    @inlinable
    public func anonymize(_ address: IPAddress) -> IPAddress {
        if let v4 = address.ipv4 { return IPAddress(ipv4: v4 & ipv4Mask) }
        return IPAddress(high: address.high & highMask, low: address.low & lowMask)
    }

    @inlinable
    public func anonymize(_ record: inout FlowRecord) {
        record.sourceAddress = anonymize(record.sourceAddress)
        record.destinationAddress = anonymize(record.destinationAddress)
    }
}
