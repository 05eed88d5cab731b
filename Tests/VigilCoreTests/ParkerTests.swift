import Atomics
import Dispatch
import Testing
import VigilCore

#if canImport(Glibc)
import Glibc
#endif

/// The wait/wake protocol of `Parker` (announce, look again, sleep): a lost wake would leave a waiter asleep
/// with work published, and with no timeout it would sleep forever, so these tests hang (and hit their time
/// limit) rather than pass slowly.
@Suite("Parker")
struct ParkerTests {
    @Test("a waiter with no timeout sees every one of 20,000 values a second thread publishes", .timeLimit(.minutes(1)))
    func noWakeIsLost() {
        let parker = Parker()
        let published = ManagedAtomic<Int>(0)
        let total = 20_000
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            var random = SplitMix64(seed: 7)
            for value in 1...total {
                published.store(value, ordering: .releasing)
                parker.unpark()
                // Mostly back to back (the waiter is awake or announcing), sometimes a pause long enough for it
                // to be asleep: both sides of the race.
                if random.next() % 16 == 0 { usleep(UInt32(random.next() % 200)) }
            }
        }
        var seen = 0
        var parks = 0
        while seen < total {
            let now = published.load(ordering: .acquiring)
            if now > seen {
                seen = now
                continue
            }
            parks += 1
            parker.park(timeoutNanoseconds: nil) { published.load(ordering: .acquiring) > seen }
        }
        group.wait()
        #expect(seen == total)
        #expect(parks > 0)
        #expect(parker.wakes.load(ordering: .relaxed) > 0, "the waiter never slept: the test proved nothing")
    }

    @Test("a park times out when nobody wakes it, and returns at once when its condition holds")
    func timeoutAndCondition() {
        let parker = Parker()
        let started = DispatchTime.now().uptimeNanoseconds
        #expect(!parker.park(timeoutNanoseconds: 20_000_000) { false })
        #expect(DispatchTime.now().uptimeNanoseconds - started >= 20_000_000)
        #expect(!parker.park(timeoutNanoseconds: nil) { true })
        // A wake with nobody asleep is not kept for later: the next park still times out.
        parker.unpark()
        #expect(!parker.park(timeoutNanoseconds: 1_000_000) { false })
    }

    @Test(
        "bursts through a ring separated by idle gaps longer than the spin: every element arrives, in order",
        .timeLimit(.minutes(1))
    )
    func ringBurstsWithGaps() {
        let ring = SPSCRing<Int>(capacity: 4)
        let bursts = 300
        let burstSize = 10
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            var value = 0
            for _ in 0..<bursts {
                for _ in 0..<burstSize {
                    _ = ring.push(value)
                    value += 1
                }
                // Far longer than the consumer's spin (a few µs), so it parks in most gaps even on a loaded
                // machine, where a shorter gap can pass while the consumer is not scheduled at all.
                usleep(2_000)
            }
        }
        var expected = 0
        var outOfOrder = 0
        while expected < bursts * burstSize {
            guard let value = ring.pop(while: { true }) else { continue }
            if value != expected { outOfOrder += 1 }
            expected += 1
        }
        group.wait()
        #expect(outOfOrder == 0)
        #expect(ring.consumerParker.wakes.load(ordering: .relaxed) > 0, "the consumer never parked")
    }
}
