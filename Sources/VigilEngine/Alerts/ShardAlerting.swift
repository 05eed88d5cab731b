import VigilAnalytics
import VigilCore

/// Per-shard models and alert lifecycle (filled in with the models).
final class ShardAlerting {
    init(
        configuration: ModelConfiguration,
        windowNanoseconds: Int64,
        shardIndex: Int,
        shardCount: Int,
        outbox: SPSCRing<AlertEvent>,
        counters: EngineCounters
    ) {}

    func register(_ seriesID: SeriesID, descriptor: SeriesDescriptor) {}
    func observe(_ aggregate: WindowAggregate) {}
    func finish() {}
}
