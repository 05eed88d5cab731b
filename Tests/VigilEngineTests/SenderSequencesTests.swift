import Testing

@testable import VigilEngine

@Suite("Sender sequences: retries recognised per sender id")
struct SenderSequencesTests {
    @Test("a frame taken once is a duplicate after; one never taken is new; far below the newest is stale")
    func verdicts() {
        let sequences = SenderSequences(counters: EngineCounters())
        #expect(sequences.verdict(sender: 7, sequence: 10) == .new)
        for sequence: UInt32 in 10..<20 { sequences.markTaken(sender: 7, sequence: sequence) }
        #expect(sequences.verdict(sender: 7, sequence: 15) == .duplicate)
        #expect(sequences.verdict(sender: 7, sequence: 20) == .new)
        #expect(sequences.verdict(sender: 8, sequence: 15) == .new, "another sender's numbers are its own")
        // A gap: 25 taken, 20...24 not (lost on the way, sent again later): new when they come.
        sequences.markTaken(sender: 7, sequence: 25)
        #expect(sequences.verdict(sender: 7, sequence: 22) == .new)
        sequences.markTaken(sender: 7, sequence: 22)
        #expect(sequences.verdict(sender: 7, sequence: 22) == .duplicate)
        // A window on: 25 is just inside, 22 and older are stale.
        sequences.markTaken(sender: 7, sequence: 25 + UInt32(SenderSequences.windowFrames) - 1)
        #expect(sequences.verdict(sender: 7, sequence: 25) == .duplicate)
        #expect(sequences.verdict(sender: 7, sequence: 24) == .stale)
        #expect(sequences.verdict(sender: 7, sequence: 26) == .new, "bits of the numbers passed over were cleared")
    }

    @Test("sequence numbers wrap past 2^32 (serial arithmetic)")
    func wrap() {
        let sequences = SenderSequences(counters: EngineCounters())
        for offset: UInt32 in 0..<10 { sequences.markTaken(sender: 1, sequence: UInt32.max - 4 &+ offset) }
        #expect(sequences.verdict(sender: 1, sequence: UInt32.max) == .duplicate)
        #expect(sequences.verdict(sender: 1, sequence: 3) == .duplicate)
        #expect(sequences.verdict(sender: 1, sequence: 5) == .new)
        #expect(sequences.verdict(sender: 1, sequence: UInt32.max - 10) == .new)
    }

    @Test("past the sender bound, the one heard from longest ago is forgotten and counted")
    func bounded() {
        let counters = EngineCounters()
        let sequences = SenderSequences(counters: counters)
        for sender in 1...UInt64(SenderSequences.maximumSenders) { sequences.markTaken(sender: sender, sequence: 0) }
        sequences.noteHeard(sender: 1)
        sequences.markTaken(sender: 999_999, sequence: 0)
        #expect(sequences.count == SenderSequences.maximumSenders)
        #expect(counters.sendersForgotten.load(ordering: .relaxed) == 1)
        #expect(sequences.verdict(sender: 1, sequence: 0) == .duplicate, "heard from recently: kept")
        #expect(sequences.verdict(sender: 2, sequence: 0) == .new, "the oldest: forgotten")
    }

    @Test("connected senders, and those whose clock is kept for their return, are never the ones forgotten")
    func connectedAndAwaitedAreKept() {
        let counters = EngineCounters()
        let sequences = SenderSequences(counters: counters)
        sequences.markTaken(sender: 1, sequence: 0)
        sequences.noteConnected(sender: 1)
        sequences.markTaken(sender: 2, sequence: 0)
        sequences.noteAwaited(sender: 2, true)
        for sender in 3...UInt64(SenderSequences.maximumSenders + 100) {
            sequences.markTaken(sender: sender, sequence: 0)
        }
        #expect(sequences.verdict(sender: 1, sequence: 0) == .duplicate)
        #expect(sequences.verdict(sender: 2, sequence: 0) == .duplicate)
        sequences.noteDisconnected(sender: 1)
        sequences.noteAwaited(sender: 2, false)
        for sender in 10_000...10_100 as ClosedRange<UInt64> { sequences.markTaken(sender: sender, sequence: 0) }
        #expect(sequences.verdict(sender: 1, sequence: 0) == .new, "forgotten once it is neither")
    }
}
