import Testing
import VigilCore

@Suite("Series registry")
struct SeriesRegistryTests {
    private func gauge(_ device: String, _ metric: String) -> SeriesDescriptor {
        SeriesDescriptor(key: SeriesKey(device: device, interface: "et-0/0/1", metric: metric), kind: .gauge, unit: "dBm")
    }

    @Test("interns keys into dense ids and returns the same id for the same labels in any order")
    func interning() {
        let registry = SeriesRegistry(cardinalityLimit: 10)
        #expect(registry.register(gauge("r1", "rx_power")) == .registered(0))
        #expect(registry.register(gauge("r2", "rx_power")) == .registered(1))
        #expect(registry.register(gauge("r1", "rx_power")) == .registered(0))
        let a = SeriesKey(device: "r1", interface: "", metric: "cpu", extraLabels: [.init(name: "b", value: "2"), .init(name: "a", value: "1")])
        let b = SeriesKey(device: "r1", interface: "", metric: "cpu", extraLabels: [.init(name: "a", value: "1"), .init(name: "b", value: "2")])
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
}
