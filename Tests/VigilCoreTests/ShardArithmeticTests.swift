import Testing
import VigilCore

@Suite("Shard arithmetic")
struct ShardArithmeticTests {
    @Test("shard and local index equal id % n and id / n for every shard count tried, at the edges and seeded")
    func matchesDivision() {
        var random = SplitMix64(seed: 2026)
        let shardCounts = Array(1...70) + [127, 1000, 65_537, 1 << 31, (1 << 32) - 1, 1 << 32]
        for shardCount in shardCounts {
            let shards = ShardArithmetic(shardCount: shardCount)
            var ids: [SeriesID] = [
                0, 1, 2, .max, .max - 1, SeriesID(truncatingIfNeeded: shardCount),
                SeriesID(truncatingIfNeeded: shardCount &- 1),
            ]
            for _ in 0..<2_000 { ids.append(SeriesID(truncatingIfNeeded: random.next())) }
            for id in ids {
                let shard = shards.shard(of: id)
                let local = shards.localIndex(of: id)
                #expect(shard == Int(id) % shardCount, "id \(id), \(shardCount) shards")
                #expect(local == Int(id) / shardCount, "id \(id), \(shardCount) shards")
                #expect(shards.seriesID(localIndex: local, shard: shard) == id)
            }
        }
    }
}
