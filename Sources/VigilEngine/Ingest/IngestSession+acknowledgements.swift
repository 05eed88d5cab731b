import VigilWire

extension IngestSession {
    /// Ranges of acknowledgements waiting to be sent, at most this many (a sender that never reads them
    /// loses the oldest, counted in `acknowledgements_dropped`; it will send those frames again and have them
    /// recognised as duplicates).
    static let maximumPendingAcknowledgementRanges = 1024

    mutating func nativeDecoder(didReceive hello: NativeHello) {
        // One sender per stream: a stream that changes its id would otherwise make the table forget honest
        // senders at the cost of a 40-byte frame each.
        if let current = self.hello, current.senderID != hello.senderID {
            counters.sendersRefused.wrappingIncrement(ordering: .relaxed)
            report("hello with sender id \(hello.senderID) ignored: this stream already said it is \(current.senderID)")
            return
        }
        if self.hello == nil {
            // The sender is back while its older connection is still open here (Vigil has not seen it fail):
            // that one goes, so its clock and series come to this one instead of dropping what it resends.
            if senderSequences.isConnected(sender: hello.senderID) {
                disconnectedSenders.closeOtherStreams?(hello.senderID)
            }
            senderSequences.noteConnected(sender: hello.senderID)
            resumeDisconnectedSender(hello.senderID)
        }
        self.hello = hello
        senderSequences.noteHeard(sender: hello.senderID)
    }

    /// A sender back on a new connection, before it sent anything else: it takes back its clock, the series it
    /// fed and any pending clock jump, so what it sends again is judged as if the connection had not been cut.
    private mutating func resumeDisconnectedSender(_ sender: UInt64) {
        guard !source.hasClock, !source.isActive, clockCandidate.isEmpty, claimedSeries.isEmpty,
            let entry = disconnectedSenders.take(sender: sender)
        else { return }
        senderSequences.noteAwaited(sender: sender, false)
        source = entry.source
        claimedSeries = entry.claimedSeries
        clockCandidate = entry.clockCandidate
        logger.info("\(streamName): sender \(sender) reconnected: its clock and series carry on")
    }

    /// At the end of the stream: its sender is no longer connected here (its record may now be forgotten).
    mutating func finishSender() {
        if let hello { senderSequences.noteDisconnected(sender: hello.senderID) }
    }

    mutating func nativeDecoder(
        shouldDecodeFrameNumbered sequence: UInt32,
        type: NativeFrameType,
        offset: Int64
    ) -> Bool {
        // Without a hello there is no sender id to recognise retries by: every frame is taken. Schema frames
        // are always applied: declarations belong to the stream (a sender that reconnects declares its series
        // again on the new one), and declaring twice changes nothing.
        guard let hello, type == .data else { return true }
        switch senderSequences.verdict(sender: hello.senderID, sequence: sequence) {
        case .new:
            return true
        case .duplicate:
            counters.duplicateFrames.wrappingIncrement(ordering: .relaxed)
            acknowledge(sequence, .duplicate)
            return false
        case .stale:
            counters.staleFrames.wrappingIncrement(ordering: .relaxed)
            report(
                "frame \(sequence) (at byte \(offset)) skipped: more than \(SenderSequences.windowFrames) frames "
                    + "below the newest this sender had taken, too old to tell whether it was taken (stale_frames)"
            )
            acknowledge(sequence, .stale)
            return false
        }
    }

    mutating func nativeDecoder(didFinishFrameNumbered sequence: UInt32, delivered: Bool) {
        guard let hello else { return }
        if delivered { senderSequences.markTaken(sender: hello.senderID, sequence: sequence) }
        acknowledge(sequence, delivered ? .accepted : .rejected)
    }

    /// Adds `sequence` to the acknowledgements to send, joining it to the last range when it follows it.
    private mutating func acknowledge(_ sequence: UInt32, _ status: NativeAcknowledgement.Status) {
        guard acknowledgesFrames, hello?.wantsAcknowledgements == true else { return }
        if let last = pendingAcknowledgements.last, last.status == status, last.last &+ 1 == sequence {
            pendingAcknowledgements[pendingAcknowledgements.count - 1].last = sequence
            return
        }
        if pendingAcknowledgements.count >= Self.maximumPendingAcknowledgementRanges {
            pendingAcknowledgements.removeFirst()
            counters.acknowledgementsDropped.wrappingIncrement(ordering: .relaxed)
        }
        pendingAcknowledgements.append(NativeAcknowledgement.Range(first: sequence, last: sequence, status: status))
    }

    /// The acknowledgements gathered since the last call, as one frame's worth; nil when there are none.
    mutating func takeAcknowledgement() -> NativeAcknowledgement? {
        guard let hello, !pendingAcknowledgements.isEmpty else { return nil }
        defer { pendingAcknowledgements.removeAll(keepingCapacity: pendingAcknowledgements.count <= 64) }
        return NativeAcknowledgement(senderID: hello.senderID, ranges: pendingAcknowledgements)
    }
}
