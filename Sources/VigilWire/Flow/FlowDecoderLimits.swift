/// Bounds on what flow decoders keep, so no exporter (or forger) can grow them without limit. Exceeding one
/// is a counted error (``FlowDecodeError/Reason``), never a crash or an unbounded table.
public struct FlowDecoderLimits: Sendable, Equatable {
    /// Exporters (address and observation domain) with state: templates, sequence numbers, samplers.
    public var maximumExporters = 65_536
    /// Templates and options templates one exporter may hold at once.
    public var maximumTemplatesPerExporter = 1_024
    /// Templates all exporters may hold at once. The per-exporter bound times the exporter bound would be
    /// 64M templates (about 1.4 KiB each, compiled), so the decoder has a bound of its own: 262,144, about
    /// 360 MiB (10,000 exporters of 26 templates each).
    public var maximumTemplates = 1 << 18
    /// Fields in one template (real ones have up to ~100).
    public var maximumFieldsPerTemplate = 512
    /// Data sets held, per exporter, while their template has not arrived (a collector restarted before the
    /// router re-sent its templates), bytes; the oldest is dropped (`template_not_found`) past it.
    public var maximumHeldBytesPerExporter = 64 * 1024
    /// The same across all exporters.
    public var maximumHeldBytes = 16 * 1024 * 1024
    /// How long held data waits for its template (by arrival time) before it is dropped.
    public var heldDataNanoseconds: Int64 = 60_000_000_000
    /// Samplers (sampler id → interval) remembered per exporter from options data.
    public var maximumSamplersPerExporter = 256

    public init() {}
}
