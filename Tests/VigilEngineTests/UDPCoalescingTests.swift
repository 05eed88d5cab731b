import Testing

@testable import VigilEngine

@Suite("UDP receive coalescing: the pause after a partly filled batch")
struct UDPCoalescingTests {
    @Test("the default 32 MiB buffer pauses the full millisecond")
    func defaultBuffer() {
        #expect(UDPProducer.coalescingNanoseconds(grantedBufferBytes: 32 << 20) == 1_000_000)
        #expect(UDPProducer.coalescingNanoseconds(grantedBufferBytes: 1 << 30) == 1_000_000)
    }

    @Test("a smaller buffer pauses only while an eighth of it can fill at 4 bytes per nanosecond")
    func boundedByBuffer() {
        // 4 MiB / 8 / 4 B/ns = 131,072 ns.
        #expect(UDPProducer.coalescingNanoseconds(grantedBufferBytes: 4 << 20) == 131_072)
        #expect(UDPProducer.coalescingNanoseconds(grantedBufferBytes: 1_600_000) == 50_000)
    }

    @Test("a buffer the kernel capped at its default limit does not pause at all")
    func tooSmallToPause() {
        // net.core.rmem_max's usual default, 212,992 bytes: 6.6 µs of the fastest fill.
        #expect(UDPProducer.coalescingNanoseconds(grantedBufferBytes: 212_992) == 0)
        #expect(UDPProducer.coalescingNanoseconds(grantedBufferBytes: 1_599_999) == 0)
        #expect(UDPProducer.coalescingNanoseconds(grantedBufferBytes: 0) == 0)
    }
}
