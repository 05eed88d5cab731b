/// Where a series lives when series are spread over `shardCount` shards: shard `id % shardCount`, at local
/// index `id / shardCount` in that shard's plain arrays. Both by multiplication instead of division, with
/// `M = ceil(2^64 / shardCount)`: `id / n == (M · id) >> 64` and `id % n == ((M · id) mod 2^64 · n) >> 64`
/// for every 32-bit id (Lemire, Kaser & Kurz, "Faster remainder by direct computation", 2019). The
/// router, the window table and the alerting state all use this one definition, so they cannot disagree.
public struct ShardArithmetic: Sendable, Equatable {
    public let shardCount: Int
    /// `ceil(2^64 / shardCount)`; 0 when `shardCount == 1` (the identity, which the formula cannot express).
    @usableFromInline let _magic: UInt64

    /// - Precondition: `1 <= shardCount <= 2^32`.
    public init(shardCount: Int) {
        precondition(shardCount >= 1 && shardCount <= 1 << 32, "shardCount must be in 1...2^32, got \(shardCount)")
        self.shardCount = shardCount
        _magic = shardCount == 1 ? 0 : UInt64.max / UInt64(shardCount) &+ 1
    }

    /// `id % shardCount`.
    @inlinable
    @inline(__always)
    public func shard(of id: SeriesID) -> Int {
        if _magic == 0 { return 0 }
        let lowBits = _magic &* UInt64(id)
        return Int(truncatingIfNeeded: lowBits.multipliedFullWidth(by: UInt64(shardCount)).high)
    }

    /// `id / shardCount`.
    @inlinable
    @inline(__always)
    public func localIndex(of id: SeriesID) -> Int {
        if _magic == 0 { return Int(id) }
        return Int(truncatingIfNeeded: _magic.multipliedFullWidth(by: UInt64(id)).high)
    }

    /// The id at `localIndex` of `shard`: `localIndex · shardCount + shard` (truncated to 32 bits).
    @inlinable
    public func seriesID(localIndex: Int, shard: Int) -> SeriesID {
        SeriesID(truncatingIfNeeded: localIndex &* shardCount &+ shard)
    }
}
