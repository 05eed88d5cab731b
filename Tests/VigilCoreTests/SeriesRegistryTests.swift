import Testing
import VigilCore

@Suite("Series registry")
struct SeriesRegistryTests {
    private func gauge(_ device: String, _ metric: String) -> SeriesDescriptor {
        SeriesDescriptor(
            key: SeriesKey(device: device, interface: "et-0/0/1", metric: metric),
            kind: .gauge,
            unit: "dBm"
        )
    }

    @Test("interns keys into dense ids and returns the same id for the same labels in any order")
    func interning() {
        let registry = SeriesRegistry(cardinalityLimit: 10)
        #expect(registry.register(gauge("r1", "rx_power")) == .registered(0))
        #expect(registry.register(gauge("r2", "rx_power")) == .registered(1))
        #expect(registry.register(gauge("r1", "rx_power")) == .registered(0))
        let a = SeriesKey(
            device: "r1",
            interface: "",
            metric: "cpu",
            extraLabels: [.init(name: "b", value: "2"), .init(name: "a", value: "1")]
        )
        let b = SeriesKey(
            device: "r1",
            interface: "",
            metric: "cpu",
            extraLabels: [.init(name: "a", value: "1"), .init(name: "b", value: "2")]
        )
        #expect(a == b)
        #expect(a.description == "r1/cpu{a=1,b=2}")
    }

    @Test("rejects and counts new keys beyond the cardinality limit, keeps serving known ones")
    func cardinalityLimit() {
        let registry = SeriesRegistry(cardinalityLimit: 2)
        _ = registry.register(gauge("r1", "a"))
        _ = registry.register(gauge("r1", "b"))
        #expect(registry.register(gauge("r1", "c")) == .rejectedCardinality)
        #expect(registry.register(gauge("r1", "d")) == .rejectedCardinality)
        #expect(registry.register(gauge("r1", "a")) == .registered(0))
        #expect(registry.rejectedRegistrations == 2)
        #expect(registry.count == 2)
    }

    @Test("a refused key declared again (another stream, a schema re-sent) is counted once")
    func refusedKeysCountedOnce() {
        let registry = SeriesRegistry(cardinalityLimit: 1)
        _ = registry.register(gauge("r1", "a"))
        for _ in 0..<3 {
            #expect(registry.register(gauge("r1", "b")) == .rejectedCardinality)
            #expect(registry.register(gauge("r2", "b")) == .rejectedCardinality)
        }
        #expect(registry.rejectedRegistrations == 2)
    }

    @Test("keeps every id through many growths of its index, and tells keys apart that share their characters")
    func growthAndLookalikes() {
        let registry = SeriesRegistry(cardinalityLimit: 100_000)
        // 20k keys: the index (1024 slots at first) doubles five times.
        for index in 0..<20_000 {
            #expect(registry.register(gauge("edge-\(index / 10)", "m\(index % 10)")) == .registered(SeriesID(index)))
        }
        for index in stride(from: 0, to: 20_000, by: 7) {
            #expect(registry.id(for: gauge("edge-\(index / 10)", "m\(index % 10)").key) == SeriesID(index))
            #expect(registry.descriptor(for: SeriesID(index))?.key == gauge("edge-\(index / 10)", "m\(index % 10)").key)
        }
        #expect(registry.id(for: gauge("edge-2000", "m0").key) == nil)
        // The same characters split differently between labels are different keys.
        let split1 = SeriesKey(device: "ab", interface: "c", metric: "d")
        let split2 = SeriesKey(device: "a", interface: "bc", metric: "d")
        let labelled = SeriesKey(device: "a", interface: "bc", metric: "d", extraLabels: [.init(name: "", value: "")])
        #expect(split1 != split2 && split2 != labelled)
        for (offset, key) in [split1, split2, labelled].enumerated() {
            let descriptor = SeriesDescriptor(key: key, kind: .gauge, unit: "")
            #expect(registry.register(descriptor) == .registered(SeriesID(20_000 + offset)))
        }
        #expect(registry.id(for: split2) == 20_001)
        #expect(registry.count == 20_003)
        // Several at once, in the order asked, nil for an id never given out.
        let looked = registry.descriptors(for: [20_002, 7, 20_003, 20_001])
        #expect(looked.map { $0?.key } == [labelled, gauge("edge-0", "m7").key, nil, split2])
    }
}
