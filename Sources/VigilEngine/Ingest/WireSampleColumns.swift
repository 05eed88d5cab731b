import VigilWire

/// Samples as a format's translator hands them to ``IngestSession/admit(_:)``: columns read by index, each
/// sample naming its series by the stream's own wire id (which the session maps to an engine series id).
///
/// The one seam every input format feeds: native data frames are such columns as they arrive; flow
/// translators (NetFlow, IPFIX, sFlow) build theirs per exporter and second. The admission path is generic
/// over it, so each format's loop is specialised: no existential call per sample.
protocol WireSampleColumns {
    /// Number of samples.
    var count: Int { get }
    /// Event time of sample `index`, nanoseconds since the Unix epoch.
    func timestamp(at index: Int) -> Int64
    func value(at index: Int) -> Double
    /// The stream-local id of the sample's series, as declared to the session.
    func wireID(at index: Int) -> UInt32
}

extension DataFrameView: WireSampleColumns {}
