import Foundation
import Testing
import VigilAnalytics
import VigilCore

/// Space-Saving, its merge and HyperLogLog against hand-computed answers and exact counts of seeded streams.
@Suite("flow sketches: Space-Saving heavy hitters, merging, HyperLogLog")
struct FlowSketchTests {
    static func key(_ value: UInt64) -> FlowKey { FlowKey(addressLow: 0x0000_FFFF_0000_0000 | value) }

    static func add(_ sketch: SpaceSavingSketch, _ value: UInt64, _ weight: UInt64) {
        let key = key(value)
        sketch.add(key, hash: key.hash64, weight: weight)
    }

    /// A Zipf(s) sample over 1...n by inverse CDF (the CDF computed once).
    struct Zipf {
        var cumulative: [Double]
        init(n: Int, s: Double) {
            var sum = 0.0
            cumulative = (1...n).map { rank in
                sum += 1 / pow(Double(rank), s)
                return sum
            }
            cumulative = cumulative.map { $0 / sum }
        }
        func sample(_ random: inout SplitMix64) -> UInt64 {
            let u = random.nextUnit()
            var low = 0
            var high = cumulative.count - 1
            while low < high {
                let middle = (low + high) / 2
                if cumulative[middle] < u { low = middle + 1 } else { high = middle }
            }
            return UInt64(low + 1)
        }
    }

    /// A seeded weighted Zipf stream: (key, bytes) pairs.
    static func zipfStream(count: Int, keys: Int, seed: UInt64) -> [(UInt64, UInt64)] {
        var random = SplitMix64(seed: seed)
        let zipf = Zipf(n: keys, s: 1.1)
        return (0..<count).map { _ in (zipf.sample(&random), 40 + random.next() % 1460) }
    }

    static func truth(_ stream: [(UInt64, UInt64)]) -> [UInt64: UInt64] {
        var totals: [UInt64: UInt64] = [:]
        for (key, weight) in stream { totals[key, default: 0] += weight }
        return totals
    }

    @Test("capacity 2, stream A5 B3 C1: C replaces B (the smallest) at 3 + 1 with error 3")
    func handComputedEviction() {
        let sketch = SpaceSavingSketch(capacity: 2)
        Self.add(sketch, 1, 5)
        Self.add(sketch, 2, 3)
        #expect(sketch.absentBound == 3, "full: a key not held has at most the smallest count")
        Self.add(sketch, 3, 1)
        let (list, _) = sketch.top(2)
        #expect(
            list.entries == [
                FlowTopEntry(key: Self.key(1), bytes: 5, errorBytes: 0),
                FlowTopEntry(key: Self.key(3), bytes: 4, errorBytes: 3),
            ]
        )
        #expect(list.absentBoundBytes == 4)
        #expect(sketch.entry(for: Self.key(2)) == nil)
        #expect(sketch.totalWeight == 9)
        Self.add(sketch, 1, 2)
        #expect(sketch.entry(for: Self.key(1))?.bytes == 7)
    }

    @Test("with at most k distinct keys every count is exact, error 0, and nothing is absent")
    func exactWhenFewKeys() {
        var random = SplitMix64(seed: 7)
        let stream = (0..<5_000).map { _ in (random.next() % 60, 1 + random.next() % 1_500) }
        let sketch = SpaceSavingSketch(capacity: 64)
        for (key, weight) in stream { Self.add(sketch, key, weight) }
        let truth = Self.truth(stream)
        let (list, _) = sketch.top(64)
        #expect(list.entries.count == truth.count)
        #expect(list.absentBoundBytes == 0)
        for entry in list.entries {
            #expect(entry.errorBytes == 0)
            #expect(entry.bytes == truth[entry.key.addressLow & 0xFFFF_FFFF])
        }
    }

    @Test("on a Zipf stream (10^5 records, 10^4 keys, k = 64) the true top 10 are held within their bounds")
    func zipfTopTen() {
        let stream = Self.zipfStream(count: 100_000, keys: 10_000, seed: 42)
        let truth = Self.truth(stream)
        let sketch = SpaceSavingSketch(capacity: 64)
        for (key, weight) in stream { Self.add(sketch, key, weight) }
        let total = stream.reduce(0) { $0 + $1.1 }
        #expect(sketch.totalWeight == total)
        #expect(sketch.absentBound <= total / 64, "the smallest counter is at most N / k")
        #if DEBUG
        #expect(sketch.checkInvariants())
        #endif
        let trueTop = truth.sorted { $0.value > $1.value }.prefix(10)
        for (key, bytes) in trueTop {
            let entry = try! #require(sketch.entry(for: Self.key(key)), "true top-10 key \(key) held")
            #expect(entry.guaranteedBytes <= bytes && bytes <= entry.bytes)
            #expect(entry.errorBytes <= total / 64)
        }
        // What the sketch reports as top 10 is the true top 10, up to keys within N / k of the 10th.
        let tenth = trueTop.last!.value
        for entry in sketch.top(10).list.entries {
            let bytes = truth[entry.key.addressLow & 0xFFFF_FFFF] ?? 0
            #expect(bytes + total / 64 >= tenth)
        }
        let reported = Set(sketch.top(10).list.entries.map { $0.key.addressLow & 0xFFFF_FFFF })
        #expect(reported.intersection(trueTop.map(\.key)).count >= 9)
    }

    @Test("an eviction-heavy stream keeps the index and heap consistent and N / k bounds everywhere")
    func churnKeepsInvariants() {
        var random = SplitMix64(seed: 99)
        let sketch = SpaceSavingSketch(capacity: 8)
        var truth: [UInt64: UInt64] = [:]
        for step in 0..<20_000 {
            let key = random.next() % 500
            let weight = 1 + random.next() % 100
            truth[key, default: 0] += weight
            Self.add(sketch, key, weight)
            #if DEBUG
            if step % 997 == 0 { #expect(sketch.checkInvariants()) }
            #endif
        }
        let (list, _) = sketch.top(8)
        for entry in list.entries {
            let bytes = truth[entry.key.addressLow & 0xFFFF_FFFF] ?? 0
            #expect(entry.guaranteedBytes <= bytes && bytes <= entry.bytes)
        }
        for (key, bytes) in truth where sketch.entry(for: Self.key(key)) == nil {
            #expect(bytes <= list.absentBoundBytes)
        }
    }

    @Test("merge by hand: sums, a list's absent bound fills in for keys it lacks, the top k kept")
    func handComputedMerge() {
        let a = FlowTopList(
            entries: [
                FlowTopEntry(key: Self.key(1), bytes: 10, errorBytes: 0),
                FlowTopEntry(key: Self.key(2), bytes: 6, errorBytes: 0),
            ],
            absentBoundBytes: 0
        )
        let b = FlowTopList(
            entries: [
                FlowTopEntry(key: Self.key(3), bytes: 5, errorBytes: 2),
                FlowTopEntry(key: Self.key(1), bytes: 4, errorBytes: 1),
            ],
            absentBoundBytes: 3
        )
        let all = FlowTopMerge.merge([a, b], keep: 10)
        #expect(
            all.entries == [
                FlowTopEntry(key: Self.key(1), bytes: 14, errorBytes: 1),
                FlowTopEntry(key: Self.key(2), bytes: 9, errorBytes: 3),
                FlowTopEntry(key: Self.key(3), bytes: 5, errorBytes: 2),
            ]
        )
        #expect(all.absentBoundBytes == 3)
        let two = FlowTopMerge.merge([a, b], keep: 2)
        #expect(two.entries.map(\.bytes) == [14, 9])
        #expect(two.absentBoundBytes == 5, "the largest count left out")
    }

    @Test(
        "merging the sketches of four parts of a Zipf stream brackets every key's true total, like one sketch",
        arguments: [UInt64(1), 2, 3]
    )
    func mergeMatchesConcatenation(seed: UInt64) {
        let stream = Self.zipfStream(count: 40_000, keys: 5_000, seed: seed)
        let truth = Self.truth(stream)
        var parts: [FlowTopList] = []
        for part in 0..<4 {
            let sketch = SpaceSavingSketch(capacity: 64)
            for (key, weight) in stream[(part * 10_000)..<((part + 1) * 10_000)] { Self.add(sketch, key, weight) }
            parts.append(sketch.top(64).list)
        }
        let merged = FlowTopMerge.merge(parts, keep: 64)
        let whole = SpaceSavingSketch(capacity: 64)
        for (key, weight) in stream { Self.add(whole, key, weight) }
        for entry in merged.entries {
            let bytes = truth[entry.key.addressLow & 0xFFFF_FFFF] ?? 0
            #expect(entry.guaranteedBytes <= bytes && bytes <= entry.bytes, "bounds hold for \(entry)")
        }
        let held = Set(merged.entries.map(\.key))
        for (key, bytes) in truth where !held.contains(Self.key(key)) {
            #expect(bytes <= merged.absentBoundBytes)
        }
        // The heaviest five of the whole stream lead both the merge and the single sketch.
        let trueTopFive = Set(truth.sorted { $0.value > $1.value }.prefix(5).map { Self.key($0.key) })
        #expect(Set(merged.entries.prefix(5).map(\.key)) == trueTopFive)
        #expect(Set(whole.top(5).list.entries.map(\.key)) == trueTopFive)
    }

    @Test(
        "HyperLogLog at precision 12 is within 3 σ (1.04 / √m) on 10^5 and 10^6 distinct values",
        arguments: [100_000, 1_000_000]
    )
    func hyperLogLogAccuracy(distinct: Int) {
        let bank = HyperLogLogBank(count: 1, precision: 12)
        for value in 0..<UInt64(distinct) { bank.add(Self.key(value).hash64, to: 0) }
        let estimate = bank.estimate(0)
        let sigma = 1.04 / Double(4096).squareRoot()
        #expect(abs(estimate - Double(distinct)) / Double(distinct) <= 3 * sigma, "estimate \(estimate)")
    }

    @Test("HyperLogLog: repeats add nothing, small sets are counted by linear counting, unions take the maximum")
    func hyperLogLogSmallAndUnion() {
        let bank = HyperLogLogBank(count: 2, precision: 10)
        for _ in 0..<3 { for value in 0..<UInt64(300) { bank.add(Self.key(value).hash64, to: 0) } }
        #expect(abs(bank.estimate(0) - 300) <= 300 * 3 * 1.04 / 32)
        for value in 200..<UInt64(600) { bank.add(Self.key(value).hash64, to: 1) }
        var union = bank.registers(0)
        HyperLogLog.merge(bank.registers(1), into: &union)
        #expect(abs(HyperLogLog.estimate(union) - 600) <= 600 * 3 * 1.04 / 32)
        #expect(HyperLogLog.estimate([UInt8](repeating: 0, count: 1024)) == 0)
    }

    @Test("window sketches: each destination's distinct sources, restarted when a destination takes a counter")
    func windowSketchesDistinctSources() {
        var configuration = FlowWindowSketches.Configuration()
        configuration.capacity = 4
        configuration.reportedEntries = 4
        configuration.distinctPrecision = 10
        let sketches = FlowWindowSketches(configuration: configuration)
        // Destination 1: 2,000 sources of 100 bytes; destination 2: one source, 1 MB.
        for source in 0..<UInt64(2_000) {
            sketches.add(
                sourceHigh: 0,
                sourceLow: 0x0000_FFFF_0A00_0000 | source,
                destinationHigh: 0,
                destinationLow: 0x0000_FFFF_C000_0201,
                destinationPort: 80,
                protocolNumber: 6,
                bytes: 100
            )
        }
        sketches.add(
            sourceHigh: 0,
            sourceLow: 0x0000_FFFF_0A00_0001,
            destinationHigh: 0,
            destinationLow: 0x0000_FFFF_C000_0202,
            destinationPort: 443,
            protocolNumber: 6,
            bytes: 1_000_000
        )
        let summary = sketches.summary(exporter: "x/0", windowStartNanoseconds: 0, windowNanoseconds: 60)
        #expect(summary.records == 2_001)
        #expect(summary.totalBytes == 1_200_000)
        let destinations = summary.list(.destination)
        #expect(destinations.entries.map(\.bytes) == [1_000_000, 200_000])
        #expect(destinations.absentBoundBytes == 0)
        let distinct = summary.destinationDistinct.map { HyperLogLog.estimate($0!.registers) }
        #expect(abs(distinct[0] - 1) < 0.01)
        #expect(abs(distinct[1] - 2_000) <= 2_000 * 3 * 1.04 / 32)
        #expect(summary.list(.destinationPort).entries.first?.key == FlowKey(destinationPort: 443, protocolNumber: 6))
        #expect(summary.list(.pair).entries.count == 4, "capacity 4 of 2,001 pairs")
        sketches.reset()
        #expect(sketches.summary(exporter: "x/0", windowStartNanoseconds: 60, windowNanoseconds: 60).records == 0)
        #expect(FlowWindowSketches.byteCount(FlowWindowSketches.Configuration()) == 397_312)
    }
}
