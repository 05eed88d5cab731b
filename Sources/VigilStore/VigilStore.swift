/// VigilStore
///
/// Rollup segment files: columnar, zstd-compressed, checksummed (docs/rollup-format.md). Writer publishes
/// atomically (temporary name, fsync, rename); reader names and skips damaged segments.
public enum VigilStore {}
