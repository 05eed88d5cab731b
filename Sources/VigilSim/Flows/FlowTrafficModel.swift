import VigilCore
import VigilWire

/// A seeded pool of plausible flows that simulated exporters draw from, varying each draw cheaply (counts,
/// client port, times): a Zipf-ish mix of talkers (a few heavy clients and servers, a long tail), services
/// (HTTPS, HTTP, DNS, SSH, NTP, QUIC, SIP, databases, BGP), TCP (about 80 %), UDP and ICMP, IPv4 and about
/// 12 % IPv6 (where the format carries it), 1 to ~8000 packets of 60 to 1500 bytes, interfaces 1 to 8.
///
/// Built once (``poolSize`` entries, O(poolSize)); drawing a record is a table lookup and a few integer
/// operations, no allocation.
///
/// A wider key space, for sketches and memory at scale: ``distinctFlow(_:)`` gives flow `index` of up to
/// ``maximumDistinctFlows`` distinct 5-tuples, a pool entry whose client address is a bijective mix of the
/// index: no per-flow table, and two indices never share a 5-tuple.
public struct FlowTrafficModel: Sendable {
    /// One pool entry: a record (times unset) with what its variations need.
    public struct Entry: Sendable {
        public var record: FlowRecord
        public var bytesPerPacket: UInt32
        public var durationMilliseconds: Int64
        /// Whether the client (the side with the ephemeral port) is the source; else the destination.
        public var clientIsSource: Bool
    }

    /// Entries in the pool: a power of two, so a draw is a mask.
    public static let poolSize = 4_096
    /// Interfaces flows cross: ifIndex 1 through this.
    public static let interfaceCount: UInt32 = 8

    public let entries: [Entry]
    /// Mixed into ``distinctFlow(_:)``'s client addresses: another seed, other clients.
    let seed: UInt64

    /// The most distinct flows ``distinctFlow(_:)`` gives: one client address each, 2^24 (10.0.0.0/8, and
    /// 2001:db8:2::/104 for IPv6 flows).
    public static let maximumDistinctFlows = 1 << 24

    /// - Parameters:
    ///   - seed: the random seed; the same seed gives the same pool.
    ///   - allowIPv6: whether some flows are IPv6 (not NetFlow v5).
    ///   - allowWideAS: whether 4-byte AS numbers appear (not NetFlow v5).
    ///   - carriesDirection, carriesAS: whether the format has a field for them (NetFlow v5 and sFlow flow
    ///     samples have no direction, the sFlow encoder writes no AS numbers): when not, the records say
    ///     ingress and AS 0, what a decoder reads, so `--records-out` is what went on the wire. The random
    ///     draws are the same either way.
    public init(
        seed: UInt64,
        allowIPv6: Bool,
        allowWideAS: Bool,
        carriesDirection: Bool = true,
        carriesAS: Bool = true
    ) {
        var random = SplitMix64(seed: seed ^ 0xF10E_5EED_0000_0001)
        var entries: [Entry] = []
        entries.reserveCapacity(Self.poolSize)
        for _ in 0..<Self.poolSize {
            var entry = Self.makeEntry(&random, allowIPv6: allowIPv6, allowWideAS: allowWideAS)
            if !carriesDirection { entry.record.direction = .ingress }
            if !carriesAS {
                entry.record.sourceAS = 0
                entry.record.destinationAS = 0
            }
            entries.append(entry)
        }
        self.entries = entries
        self.seed = seed
    }

    /// Flow `index` (0..<``maximumDistinctFlows``) of the key space: the pool entry a hash of the index picks
    /// (so the mix of services, servers, sizes and interfaces is the pool's), with its client address
    /// replaced by a bijective mix of the index and its client port taken from the hash. The same index
    /// always gives the same 5-tuple, and two indices never give the same one (their client addresses
    /// differ). O(1), no table.
    public func distinctFlow(_ index: Int) -> Entry {
        precondition(index >= 0 && index < Self.maximumDistinctFlows)
        var mixer = SplitMix64(seed: UInt64(index) ^ seed)
        var hash = mixer.next()
        var entry = entries[Int(truncatingIfNeeded: hash) & (Self.poolSize - 1)]
        // A bijection of 0..<2^24: xor with the seed, then odd multiplications and xor-shifts modulo 2^24.
        let mask: UInt64 = (1 << 24) - 1
        var client = (UInt64(index) ^ seed) & mask
        client = (client &* 0x9E_3779) & mask
        client ^= client >> 13
        client = (client &* 0x85_EBCB) & mask
        client ^= client >> 11
        let address: IPAddress =
            entry.record.ipVersion == 6
            ? IPAddress(high: 0x2001_0DB8_0002_0000, low: client)
            : IPAddress(ipv4: 0x0A00_0000 | UInt32(truncatingIfNeeded: client))
        hash >>= 40
        let port = 32_768 | UInt16(truncatingIfNeeded: hash) & 0x3FFF
        let hasPorts = entry.record.protocolNumber == 6 || entry.record.protocolNumber == 17
        if entry.clientIsSource {
            entry.record.sourceAddress = address
            if hasPorts { entry.record.sourcePort = port }
        } else {
            entry.record.destinationAddress = address
            if hasPorts { entry.record.destinationPort = port }
        }
        return entry
    }

    static let tcpServices: [UInt16] = [443, 80, 22, 8080, 993, 25, 3306, 5432, 179, 8443]
    static let udpServices: [UInt16] = [53, 443, 123, 5060, 1194, 500]
    static let narrowAS: [UInt32] = [64_512, 13_335, 15_169, 16_509, 32_934, 8_075, 3_356, 174, 2_914, 64_513]
    static let wideAS: [UInt32] = [396_982, 4_200_000_001, 212_238]

    /// A rank in `0..<count`, heavily skewed to the first (u³: rank 0 is drawn ~10 % of the time of 1000).
    static func skewedRank(_ random: inout SplitMix64, _ count: Int) -> Int {
        let unit = random.nextUnit()
        return min(count - 1, Int(Double(count) * unit * unit * unit))
    }

    static func makeEntry(_ random: inout SplitMix64, allowIPv6: Bool, allowWideAS: Bool) -> Entry {
        var record = FlowRecord()
        let kind = random.nextUnit()
        let ipv6 = allowIPv6 && random.nextUnit() < 0.12
        record.ipVersion = ipv6 ? 6 : 4
        let client = skewedRank(&random, 5_000)
        let server = skewedRank(&random, 400)
        let clientAddress: IPAddress
        let serverAddress: IPAddress
        if ipv6 {
            // 2001:db8:1:<client>::2 and 2001:db8:ff:<server>::1 (the documentation prefix).
            clientAddress = IPAddress(high: 0x2001_0DB8_0001_0000 | UInt64(client), low: 2)
            serverAddress = IPAddress(high: 0x2001_0DB8_00FF_0000 | UInt64(server), low: 1)
        } else {
            // Clients in 10.1.0.0/16 up; servers in 192.0.2/24, 198.51.100/24 and 203.0.113/24.
            clientAddress = IPAddress(ipv4: 0x0A01_0000 &+ UInt32(client) &+ UInt32(client / 250) * 6)
            let prefixes: [UInt32] = [0xC000_0200, 0xC633_6400, 0xCB00_7100]
            serverAddress = IPAddress(ipv4: prefixes[server % 3] | UInt32(1 + (server / 3) % 254))
        }
        var servicePort: UInt16
        var packets: UInt64
        var bytesPerPacket: UInt32
        if kind < 0.80 {
            record.protocolNumber = 6
            servicePort = tcpServices[skewedRank(&random, tcpServices.count)]
            let flags = random.nextUnit()
            record.tcpFlags = flags < 0.6 ? 0x1B : flags < 0.8 ? 0x18 : flags < 0.9 ? 0x02 : flags < 0.95 ? 0x12 : 0x14
            packets = record.tcpFlags == 0x02 ? 1 : UInt64(_exp(random.nextUnit() * 9))
            let size = random.nextUnit()
            bytesPerPacket =
                size < 0.5
                ? 1_200 + UInt32(random.next() % 301)
                : size < 0.8 ? 60 + UInt32(random.next() % 41) : 400 + UInt32(random.next() % 600)
        } else if kind < 0.97 {
            record.protocolNumber = 17
            servicePort = udpServices[skewedRank(&random, udpServices.count)]
            packets =
                servicePort == 53 || servicePort == 123 ? 1 + random.next() % 2 : UInt64(_exp(random.nextUnit() * 8))
            bytesPerPacket = servicePort == 53 ? 60 + UInt32(random.next() % 240) : 100 + UInt32(random.next() % 1_300)
            record.typeOfService = servicePort == 5060 ? 0xB8 : 0
        } else {
            record.protocolNumber = ipv6 ? 58 : 1
            let types: [UInt16] = ipv6 ? [128 << 8, 129 << 8, 1 << 8 | 4] : [8 << 8, 0, 3 << 8 | 3, 11 << 8]
            servicePort = types[skewedRank(&random, types.count)]
            packets = 1 + random.next() % 10
            bytesPerPacket = 84
        }
        if record.typeOfService == 0 && random.nextUnit() < 0.1 { record.typeOfService = 0x28 }
        let ephemeral = UInt16(32_768 + random.next() % 16_384)
        let toServer = record.protocolNumber == 1 || record.protocolNumber == 58 || random.nextUnit() < 0.8
        if toServer {
            record.sourceAddress = clientAddress
            record.destinationAddress = serverAddress
            record.sourcePort = record.protocolNumber == 6 || record.protocolNumber == 17 ? ephemeral : 0
            record.destinationPort = servicePort
        } else {
            record.sourceAddress = serverAddress
            record.destinationAddress = clientAddress
            record.sourcePort = servicePort
            record.destinationPort = ephemeral
        }
        record.inputInterface = 1 + UInt32(random.next() % UInt64(interfaceCount))
        record.outputInterface =
            1 + (record.inputInterface + UInt32(random.next() % UInt64(interfaceCount - 1))) % interfaceCount
        let asList = allowWideAS && random.nextUnit() < 0.2 ? wideAS : narrowAS
        record.sourceAS = asList[skewedRank(&random, asList.count)]
        record.destinationAS = narrowAS[skewedRank(&random, narrowAS.count)]
        record.direction = random.nextUnit() < 0.1 ? .egress : .ingress
        packets = max(1, packets)
        record.packets = packets
        record.octets = packets * UInt64(bytesPerPacket)
        let duration = packets == 1 ? 0 : min(120_000, Int64(packets) * Int64(1 + random.next() % 50))
        return Entry(
            record: record,
            bytesPerPacket: bytesPerPacket,
            durationMilliseconds: duration,
            clientIsSource: toServer
        )
    }
}
