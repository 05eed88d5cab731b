/// One exporter's counter readings for a reading time, as the columns ``IngestSession/admit(_:)`` takes:
/// zero baselines of series first seen in this interval (one interval earlier), then every series' reading.
/// Arrays reused from one flush to the next: nothing is allocated once an exporter's series are known.
struct FlowReadings: WireSampleColumns {
    var timestamps: [Int64] = []
    var values: [Double] = []
    var wireIDs: [UInt32] = []

    var count: Int { wireIDs.count }
    func timestamp(at index: Int) -> Int64 { timestamps[index] }
    func value(at index: Int) -> Double { values[index] }
    func wireID(at index: Int) -> UInt32 { wireIDs[index] }

    mutating func append(timestamp: Int64, value: Double, wireID: UInt32) {
        timestamps.append(timestamp)
        values.append(value)
        wireIDs.append(wireID)
    }

    mutating func removeAll() {
        timestamps.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        wireIDs.removeAll(keepingCapacity: true)
    }
}
