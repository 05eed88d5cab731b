/// VigilEngine
///
/// The running engine: sources' I/O, ingest and routing to shards, shard workers, watermarks, alert lifecycle and
/// sinks, rollup writing, shutdown and the run summary.
public enum VigilEngine {}
