import Testing
import VigilCore

@testable import VigilEngine

@Suite("Producer clock: per-source watermarks")
struct ProducerClockTests {
    static let second: Int64 = 1_000_000_000

    func makeClock(engine: EventClock, producer: Int = 0, idleSeconds: Int64 = 60) -> ProducerClock {
        ProducerClock(
            producerIndex: producer,
            engineClock: engine,
            idleTimeoutNanoseconds: idleSeconds * Self.second,
            capsAtWallClock: false
        )
    }

    @Test("the producer publishes the lowest active source's watermark; random joins, moves, leaves")
    func lowestActiveSource() {
        var random = SplitMix64(seed: 7)
        let engine = EventClock(latenessNanoseconds: 5 * Self.second)
        let clock = makeClock(engine: engine)
        let sources = (0..<64).map { ProducerClock.Source(name: "s\($0)") }
        var newest = [Int64](repeating: .min, count: sources.count)
        var active = [Bool](repeating: false, count: sources.count)
        for step in 0..<5_000 {
            let index = Int(random.next() % UInt64(sources.count))
            switch random.next() % 4 {
            case 0:
                clock.join(sources[index], nowNanoseconds: 0)
                active[index] = true
            case 1:
                clock.leave(sources[index])
                active[index] = false
            default:
                let to = Int64(step) * Self.second + Int64(random.next() % 1_000) * Self.second
                clock.advance(sources[index], toNewest: to)
                newest[index] = max(newest[index], to)
            }
            #expect(clock.activeCount == active.filter { $0 }.count)
            // Floors are the engine's watermark at joining, which this test never moves (nothing published).
            let expected = (0..<sources.count).filter { active[$0] }.map {
                newest[$0] == .min ? Int64.min : newest[$0] - 5 * Self.second
            }.min()
            #expect(sources.filter(\.isActive).map(\.watermarkNanoseconds).min() == expected)
        }
    }

    @Test("the engine's watermark is the lowest producer's, never goes back, and waits while none holds it")
    func engineWatermarkAcrossProducers() {
        let engine = EventClock(latenessNanoseconds: 0, producerCount: 2)
        let first = makeClock(engine: engine, producer: 0)
        let second = makeClock(engine: engine, producer: 1)
        let a = ProducerClock.Source(name: "a")
        let b = ProducerClock.Source(name: "b")
        first.join(a, nowNanoseconds: 0)
        first.advance(a, toNewest: 100 * Self.second)
        #expect(first.publish() == 100 * Self.second)
        // b joins the other producer with an older clock: its floor is the engine's watermark, so it cannot
        // pull the watermark back.
        second.join(b, nowNanoseconds: 0)
        second.advance(b, toNewest: 40 * Self.second)
        #expect(b.watermarkNanoseconds == 100 * Self.second)
        #expect(second.publish() == 100 * Self.second)
        // a runs ahead; b holds the engine back at its own watermark.
        first.advance(a, toNewest: 500 * Self.second)
        second.advance(b, toNewest: 200 * Self.second)
        // Each producer publishes its own: until the first does, its slot says 100 s.
        #expect(second.publish() == 100 * Self.second)
        #expect(first.publish() == 200 * Self.second)
        // b leaves: a alone decides. a leaves too: nothing holds, the watermark stays.
        second.leave(b)
        #expect(second.publish() == 500 * Self.second)
        first.leave(a)
        #expect(first.publish() == 500 * Self.second)
        #expect(engine.currentWatermark == 500 * Self.second)
    }

    @Test("a source with no on-time sample for the idle timeout is let go; it rejoins above the watermark")
    func idleSourcesExpire() {
        let engine = EventClock(latenessNanoseconds: 0)
        let clock = makeClock(engine: engine, idleSeconds: 2)
        let slow = ProducerClock.Source(name: "slow")
        let fast = ProducerClock.Source(name: "fast")
        clock.join(slow, nowNanoseconds: 0)
        clock.join(fast, nowNanoseconds: 0)
        clock.advance(slow, toNewest: 10 * Self.second)
        clock.advance(fast, toNewest: 90 * Self.second)
        #expect(clock.publish() == 10 * Self.second)
        clock.noteOnTime(fast, nowNanoseconds: 3 * Self.second)
        #expect(clock.expireIdle(nowNanoseconds: 3 * Self.second).map(\.name) == ["slow"])
        #expect(clock.publish() == 90 * Self.second)
        // Back with its old clock: its floor is the engine's watermark now.
        clock.join(slow, nowNanoseconds: 4 * Self.second)
        #expect(slow.watermarkNanoseconds == 90 * Self.second)
        #expect(clock.publish() == 90 * Self.second)
    }

    @Test("a source that sends only late samples is idle again as soon as it rejoins: its idle time is not reset")
    func lateOnlySourceDoesNotPinTheClock() {
        let engine = EventClock(latenessNanoseconds: 0)
        let clock = makeClock(engine: engine, idleSeconds: 2)
        let stale = ProducerClock.Source(name: "stale")
        clock.join(stale, nowNanoseconds: 1 * Self.second)
        clock.advance(stale, toNewest: 10 * Self.second)
        #expect(clock.expireIdle(nowNanoseconds: 4 * Self.second).map(\.name) == ["stale"])
        // It sends again (a frame, all late): it rejoins for that frame, but has still had no on-time sample
        // since second 1.
        clock.join(stale, nowNanoseconds: 9 * Self.second)
        #expect(clock.isIdle(stale, nowNanoseconds: 9 * Self.second))
        clock.noteOnTime(stale, nowNanoseconds: 9 * Self.second)
        #expect(!clock.isIdle(stale, nowNanoseconds: 10 * Self.second))
    }

    @Test("a live producer never publishes past the wall clock minus the lateness")
    func liveProducerCappedAtWallClock() {
        let engine = EventClock(latenessNanoseconds: 10 * Self.second)
        let clock = ProducerClock(
            producerIndex: 0,
            engineClock: engine,
            idleTimeoutNanoseconds: 60 * Self.second,
            capsAtWallClock: true
        )
        let source = ProducerClock.Source(name: "ahead")
        clock.join(source, nowNanoseconds: 0)
        let now = ProducerClock.realtimeNanoseconds()
        clock.advance(source, toNewest: now + 3_000 * Self.second)
        let published = clock.publish()
        #expect(published <= ProducerClock.realtimeNanoseconds() - 10 * Self.second)
        #expect(published >= now - 11 * Self.second)
    }
}
