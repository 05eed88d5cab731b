import Dispatch
import Testing
import VigilCore

@Suite("SPSC ring")
struct SPSCRingTests {
    @Test("rounds capacity up to a power of two and refuses a push when full")
    func boundedCapacity() {
        let ring = SPSCRing<Int>(capacity: 3)
        #expect(ring.capacity == 4)
        for value in 0..<4 { #expect(ring.tryPush(value)) }
        #expect(!ring.tryPush(99))
        #expect(ring.tryPop() == 0)
        #expect(ring.tryPush(4))
        #expect((0..<4).map { _ in ring.tryPop() } == [1, 2, 3, 4])
        #expect(ring.tryPop() == nil)
    }

    @Test("a producer and a consumer on two threads hand over 2M items in order, none lost or repeated")
    func concurrentStress() {
        let ring = SPSCRing<Int>(capacity: 64)
        let total = 2_000_000
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            for value in 0..<total { _ = ring.push(value) }
        }
        var expected = 0
        var outOfOrder = 0
        while expected < total {
            if let value = ring.pop(while: { true }) {
                if value != expected { outOfOrder += 1 }
                expected += 1
            }
        }
        group.wait()
        #expect(outOfOrder == 0)
        #expect(ring.tryPop() == nil)
    }

    @Test("batches written before a push are fully visible after the pop (release/acquire)")
    func batchPublication() {
        let forward = SPSCRing<SampleBatch>(capacity: 4)
        let back = SPSCRing<SampleBatch>(capacity: 8)
        for _ in 0..<4 { _ = back.tryPush(SampleBatch(capacity: 1024)) }
        let rounds = 5_000
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            for round in 0..<rounds {
                let batch = back.pop(while: { true })!
                batch.removeAll()
                for index in 0..<batch.capacity {
                    batch.append(timestamp: Int64(round), seriesID: SeriesID(index), value: Double(round * index))
                }
                _ = forward.push(batch)
            }
        }
        var mismatches = 0
        for round in 0..<rounds {
            let batch = forward.pop(while: { true })!
            for index in 0..<batch.count
            where batch.timestamps[index] != Int64(round) || batch.values[index] != Double(round * index) {
                mismatches += 1
            }
            _ = back.push(batch)
        }
        group.wait()
        #expect(mismatches == 0)
    }
}
