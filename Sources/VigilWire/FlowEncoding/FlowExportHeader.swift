/// What an exporter puts in a datagram's header: its clock, its boot time (NetFlow's uptime origin), its
/// sequence number and its observation domain. The caller (a simulated exporter) keeps these per exporter and
/// advances the sequence number per format (``FlowFormat``): v5 flows, v9 datagrams, IPFIX data records,
/// sFlow datagrams.
public struct FlowExportHeader: Sendable, Equatable {
    /// The exporter's clock when it sends the datagram, nanoseconds since the Unix epoch.
    public var exportNanoseconds: Int64
    /// When the exporter booted, milliseconds since the Unix epoch: NetFlow's `sysUptime` and its records'
    /// `FIRST_SWITCHED`/`LAST_SWITCHED` count from it. At most 2^32 ms (49 days) before any time it encodes.
    public var bootMilliseconds: Int64
    /// The header's sequence number, as the format counts it.
    public var sequenceNumber: UInt32
    /// NetFlow v9 source id, IPFIX observation domain, sFlow sub-agent id; NetFlow v5 writes its low 16 bits
    /// as `engine_type << 8 | engine_id`.
    public var observationDomain: UInt32
    /// sFlow's agent address (the exporter's own address).
    public var agentAddress: IPAddress

    public init(
        exportNanoseconds: Int64,
        bootMilliseconds: Int64,
        sequenceNumber: UInt32,
        observationDomain: UInt32,
        agentAddress: IPAddress
    ) {
        self.exportNanoseconds = exportNanoseconds
        self.bootMilliseconds = bootMilliseconds
        self.sequenceNumber = sequenceNumber
        self.observationDomain = observationDomain
        self.agentAddress = agentAddress
    }

    /// Whole seconds of the export time (the `unix_secs`/`Export Time` fields).
    @inlinable
    public var exportSeconds: UInt32 { UInt32(truncatingIfNeeded: exportNanoseconds / 1_000_000_000) }

    /// Milliseconds since boot at `milliseconds` since the epoch, as NetFlow's 32-bit uptime fields hold it.
    @inlinable
    public func uptime(atMilliseconds milliseconds: Int64) -> UInt32 {
        UInt32(truncatingIfNeeded: milliseconds &- bootMilliseconds)
    }
}
