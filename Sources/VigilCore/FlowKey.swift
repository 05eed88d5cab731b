/// What a flow heavy-hitter sketch counts by: one of four kinds of key taken from a flow record.
public enum FlowKeyKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The source address.
    case source = 0
    /// The destination address.
    case destination = 1
    /// The (source, destination) address pair.
    case pair = 2
    /// The destination port with the IP protocol.
    case destinationPort = 3

    /// `src`, `dst`, `pair`, `dstport`: the names `vigil flows top --by` takes.
    public var description: String {
        switch self {
        case .source: "src"
        case .destination: "dst"
        case .pair: "pair"
        case .destinationPort: "dstport"
        }
    }

    /// The kind named `src`, `dst`, `pair` or `dstport`; nil for anything else.
    public init?(name: String) {
        guard let kind = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = kind
    }
}

/// A fixed-size (40-byte) key for the flow sketches: two 16-byte addresses and a word for ports and
/// protocol. No references, so sketches keep keys in flat arrays and compare them with five word compares.
///
/// Layout by kind (addresses as `IPAddress`' `high`/`low` words: IPv4 is IPv4-mapped IPv6):
/// - source and destination: `address` = the address, the rest 0;
/// - pair: `address` = source, `second` = destination;
/// - destination port: `port` = `protocol << 16 | port`, the rest 0.
public struct FlowKey: Hashable, Sendable {
    public var addressHigh: UInt64
    public var addressLow: UInt64
    public var secondHigh: UInt64
    public var secondLow: UInt64
    public var port: UInt64

    @inlinable
    public init(
        addressHigh: UInt64 = 0,
        addressLow: UInt64 = 0,
        secondHigh: UInt64 = 0,
        secondLow: UInt64 = 0,
        port: UInt64 = 0
    ) {
        self.addressHigh = addressHigh
        self.addressLow = addressLow
        self.secondHigh = secondHigh
        self.secondLow = secondLow
        self.port = port
    }

    /// A destination-port key: `protocol << 16 | port`.
    @inlinable
    public init(destinationPort: UInt16, protocolNumber: UInt8) {
        self.init(port: UInt64(protocolNumber) << 16 | UInt64(destinationPort))
    }

    @inlinable
    public static func == (lhs: FlowKey, rhs: FlowKey) -> Bool {
        // Bitwise and of the five compares: no branch per word.
        ((lhs.addressHigh ^ rhs.addressHigh) | (lhs.addressLow ^ rhs.addressLow) | (lhs.secondHigh ^ rhs.secondHigh)
            | (lhs.secondLow ^ rhs.secondLow) | (lhs.port ^ rhs.port)) == 0
    }

    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(hash64) }

    /// A well-mixed 64-bit hash of the key (SplitMix64's finaliser over each word), the same on every
    /// platform and run: what the sketches index by and what HyperLogLog ranks.
    @inlinable
    public var hash64: UInt64 {
        var hash = FlowKey.mix(addressHigh ^ 0x243F_6A88_85A3_08D3)
        hash = FlowKey.mix(hash ^ addressLow)
        if (secondHigh | secondLow | port) != 0 {
            hash = FlowKey.mix(hash ^ secondHigh)
            hash = FlowKey.mix(hash ^ secondLow)
            hash = FlowKey.mix(hash ^ port)
        }
        return hash
    }

    /// The hash of a pair from the hashes of its two addresses (cheaper than hashing the 32 bytes again).
    @inlinable
    public static func pairHash(_ source: UInt64, _ destination: UInt64) -> UInt64 {
        mix(source &+ (destination &* 0x9E37_79B9_7F4A_7C15) ^ 0x1357_9BDF_2468_ACE0)
    }

    /// SplitMix64's output function: a bijection of 64-bit words with full avalanche.
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
