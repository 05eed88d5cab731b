import Testing
import VigilAnalytics
import VigilCore

/// The exact tallies in front of the window sketches: folding them must neither lose nor double-count a
/// byte, whether they fold once at the summary or many times within a window.
@Suite("flow tallies: exact pre-aggregation before Space-Saving")
struct FlowTallyTests {
    /// One synthetic record: source, destination and port chosen from small seeded ranges.
    struct Record {
        var source: UInt64
        var destination: UInt64
        var port: UInt16
        var bytes: UInt64

        var sourceKey: FlowKey { FlowKey(addressLow: 0x0000_FFFF_0A00_0000 | source) }
        var destinationKey: FlowKey { FlowKey(addressLow: 0x0000_FFFF_C000_0000 | destination) }
        var pairKey: FlowKey {
            FlowKey(addressLow: sourceKey.addressLow, secondLow: destinationKey.addressLow)
        }
        var portKey: FlowKey { FlowKey(destinationPort: port, protocolNumber: 6) }
    }

    /// A seeded stream whose sources, destinations and ports are Zipf-skewed over `keys` values each.
    static func stream(count: Int, keys: Int, seed: UInt64) -> [Record] {
        var random = SplitMix64(seed: seed)
        let zipf = FlowSketchTests.Zipf(n: keys, s: 1.1)
        return (0..<count).map { _ in
            Record(
                source: zipf.sample(&random),
                destination: zipf.sample(&random),
                port: UInt16(truncatingIfNeeded: zipf.sample(&random)),
                bytes: 40 + random.next() % 1460
            )
        }
    }

    static func add(_ records: [Record], to sketches: FlowWindowSketches) {
        for record in records {
            sketches.add(
                sourceHigh: 0,
                sourceLow: record.sourceKey.addressLow,
                destinationHigh: 0,
                destinationLow: record.destinationKey.addressLow,
                destinationPort: record.port,
                protocolNumber: 6,
                bytes: record.bytes
            )
        }
    }

    /// Adds `records` and returns the window's summary (its records and bytes checked: every one), their
    /// total bytes and the exact bytes by key of each kind.
    static func summarize(
        _ records: [Record],
        with sketches: FlowWindowSketches
    ) -> (FlowWindowSummary, UInt64, [FlowKeyKind: [FlowKey: UInt64]]) {
        add(records, to: sketches)
        let summary = sketches.summary(exporter: "x/0", windowStartNanoseconds: 0, windowNanoseconds: 60)
        let total = records.reduce(0) { $0 + $1.bytes }
        #expect(summary.records == UInt64(records.count))
        #expect(summary.totalBytes == total)
        return (summary, total, truth(records))
    }

    /// Exact bytes by key for each kind.
    static func truth(_ records: [Record]) -> [FlowKeyKind: [FlowKey: UInt64]] {
        var totals: [FlowKeyKind: [FlowKey: UInt64]] = [:]
        for record in records {
            totals[.source, default: [:]][record.sourceKey, default: 0] += record.bytes
            totals[.destination, default: [:]][record.destinationKey, default: 0] += record.bytes
            totals[.pair, default: [:]][record.pairKey, default: 0] += record.bytes
            totals[.destinationPort, default: [:]][record.portKey, default: 0] += record.bytes
        }
        return totals
    }

    /// Window sketches of `capacity` counters that list them all, with tallies of the sizes given.
    static func sketches(capacity: Int, pairTally: Int, portTally: Int) -> FlowWindowSketches {
        var configuration = FlowWindowSketches.Configuration()
        configuration.capacity = capacity
        configuration.reportedEntries = capacity
        configuration.pairTallyCapacity = pairTally
        configuration.portTallyCapacity = portTally
        return FlowWindowSketches(configuration: configuration)
    }

    static let kinds: [FlowKeyKind] = [.source, .destination, .pair, .destinationPort]

    @Test("the tally sums weights by key, refuses a new key when full, and empties")
    func tallyAddsAndFills() {
        let tally = FlowWeightTable<FlowKey>(capacity: 3)
        let keys = (1...4).map { FlowKey(addressLow: UInt64($0)) }
        #expect(tally.add(keys[0], hash: keys[0].hash64, weight: 5))
        #expect(tally.add(keys[1], hash: keys[1].hash64, weight: 7))
        #expect(tally.add(keys[0], hash: keys[0].hash64, weight: 6))
        // A hash shared by two keys only costs a probe: the keys are compared.
        #expect(tally.add(keys[2], hash: keys[0].hash64, weight: 1))
        #expect(!tally.add(keys[3], hash: keys[3].hash64, weight: 100), "full: a fourth key is refused")
        #expect(tally.add(keys[1], hash: keys[1].hash64, weight: .max), "a held key still adds when full")
        var seen: [(FlowKey, UInt64)] = []
        tally.forEach { seen.append(($0, $1)) }
        #expect(seen.map(\.0) == [keys[0], keys[1], keys[2]], "first-added order")
        #expect(seen.map(\.1) == [11, .max, 1], "sums, saturating")
        tally.removeAll()
        #expect(tally.isEmpty)
        #expect(tally.add(keys[3], hash: keys[3].hash64, weight: 100))
        var after: [UInt64] = []
        tally.forEach { after.append($1) }
        #expect(after == [100])
    }

    @Test(
        "capacity 2, A5 B3, then a batch C1 D1 A2 bounded by 3: A adds, C replaces B at 3 + 1 with error 3, D is left out"
    )
    func batchedAddStartsAtThePriorBound() {
        let sketch = SpaceSavingSketch(capacity: 2)
        FlowSketchTests.add(sketch, 1, 5)
        FlowSketchTests.add(sketch, 2, 3)
        let priorBound = sketch.absentBound
        #expect(priorBound == 3)
        // The batch C1 D1 A2, as a fold passes it: held keys first, then the others from the bound.
        let batch = [(UInt64(3), UInt64(1)), (4, 1), (1, 2)].map { (FlowSketchTests.key($0.0), $0.1) }
        let absent = batch.filter { !sketch.addIfHeld($0.0, hash: $0.0.hash64, weight: $0.1) }
        #expect(absent.map(\.0) == [FlowSketchTests.key(3), FlowSketchTests.key(4)])
        for (key, weight) in absent {
            sketch.addAbsent(key, hash: key.hash64, weight: weight, priorBound: priorBound)
        }
        let (list, _) = sketch.top(2)
        #expect(list.entries.map(\.key) == [FlowSketchTests.key(1), FlowSketchTests.key(3)])
        #expect(list.entries.map(\.bytes) == [7, 4])
        #expect(list.entries.map(\.errorBytes) == [0, 3])
        // B (3) and D (1) are out, both within the absent bound; C's 1 byte within [4 - 3, 4].
        #expect(list.absentBoundBytes == 4)
        #expect(sketch.totalWeight == 12)
        #if DEBUG
        #expect(sketch.checkInvariants())
        #endif
    }

    @Test(
        "every count stays exact with fewer distinct keys than counters, folding once or every few records",
        arguments: [(4_096, 1_024), (3, 2), (1, 1)]
    )
    func exactThroughFolds(pairTally: Int, portTally: Int) {
        let sketches = Self.sketches(capacity: 1_024, pairTally: pairTally, portTally: portTally)
        // 30 values of each field: at most 900 pairs, fewer than 1,024 counters of every kind.
        let records = Self.stream(count: 20_000, keys: 30, seed: 7)
        let (summary, total, truth) = Self.summarize(records, with: sketches)
        for kind in Self.kinds {
            let list = summary.list(kind)
            #expect(list.absentBoundBytes == 0, "\(kind): every key listed")
            #expect(list.entries.reduce(0) { $0 + $1.bytes } == total, "\(kind): listed bytes sum to the total")
            #expect(list.entries.allSatisfy { $0.errorBytes == 0 }, "\(kind): exact")
            #expect(
                Dictionary(uniqueKeysWithValues: list.entries.map { ($0.key, $0.bytes) }) == truth[kind]!,
                "\(kind): every key's bytes"
            )
        }
        // Distinct sources: a destination's registers saw the sources of its pairs (30 at most).
        for (entry, registers) in zip(summary.list(.destination).entries, summary.destinationDistinct) {
            let sources = Set(records.filter { $0.destinationKey == entry.key }.map(\.source)).count
            let estimate = HyperLogLog.estimate(registers!.registers)
            #expect(abs(estimate - Double(sources)) <= Double(sources) * 0.2 + 1)
        }
        sketches.reset()
        let empty = sketches.summary(exporter: "x/0", windowStartNanoseconds: 60, windowNanoseconds: 60)
        #expect(empty.totalBytes == 0 && empty.list(.pair).entries.isEmpty, "reset empties the tallies too")
    }

    @Test(
        "on a skewed stream with more keys than counters every listed count brackets the truth, and the true top 10 are listed",
        arguments: [(4_096, 1_024), (64, 16)]
    )
    func skewedTopBrackets(pairTally: Int, portTally: Int) {
        let sketches = Self.sketches(capacity: 64, pairTally: pairTally, portTally: portTally)
        let records = Self.stream(count: 50_000, keys: 2_000, seed: 11)
        let (summary, total, truth) = Self.summarize(records, with: sketches)
        for kind in Self.kinds {
            let list = summary.list(kind)
            let exact = truth[kind]!
            #expect(list.absentBoundBytes <= total / 64, "\(kind): absent bound at most N / k")
            // Space-Saving's counts sum to the bytes added (sources and destinations, added key by key), or
            // to at most them (pairs and ports, each once a fold, may be left out under the smallest count):
            // a fold that repeated bytes shows here, and one that lost them in the first two kinds.
            let counted = list.entries.reduce(0) { $0 + $1.bytes }
            if kind == .source || kind == .destination {
                #expect(counted == total, "\(kind): counts sum to the total")
            } else {
                #expect(counted <= total, "\(kind): counts sum to at most the total")
            }
            let listed = Set(list.entries.map(\.key))
            for entry in list.entries {
                let bytes = exact[entry.key] ?? 0
                #expect(entry.guaranteedBytes <= bytes && bytes <= entry.bytes, "\(kind) \(entry.key)")
            }
            for (key, bytes) in exact where !listed.contains(key) {
                #expect(bytes <= list.absentBoundBytes, "\(kind): unlisted \(key) within the absent bound")
            }
            let topTen = exact.sorted { $0.value > $1.value }.prefix(10)
            for (key, bytes) in topTen where bytes > total / 64 {
                #expect(listed.contains(key), "\(kind): true top-10 key above N / k listed")
            }
        }
    }
}
