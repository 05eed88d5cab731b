/// What an encoder wrote into one datagram.
public struct FlowEncodedDatagram: Sendable, Equatable {
    /// The datagram's length.
    public var byteCount = 0
    /// Flow data records (or sFlow flow samples).
    public var flowRecords = 0
    /// Template and options template records (NetFlow v9, IPFIX).
    public var templateRecords = 0
    /// Options data records (the sampler table).
    public var optionsRecords = 0
    /// sFlow counter samples.
    public var counterSamples = 0

    public init() {}
}
