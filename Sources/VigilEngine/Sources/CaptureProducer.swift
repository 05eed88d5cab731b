import Atomics
import Logging
import VigilCore
import VigilWire

/// Reads packet captures (pcap or pcapng, from files or a pipe such as `tcpdump -w -`) one after the
/// other on one thread, and hands every UDP datagram in them to one ``FlowIngest``: the captures' flow
/// exporters are sources of their own, their templates kept across the files (a rotated capture goes on
/// where the last one stopped). The capture's timestamps are the arrival times.
///
/// Bounds: a read buffer of ``readChunkBytes`` plus one capture record (at most
/// ``CaptureStreamDecoder``'s record bound); nothing grows with the capture's size.
final class CaptureProducer {
    let context: ProducerContext
    let openStreams: [() throws -> ByteStream]
    let ingest: FlowIngest
    static let readChunkBytes = 1 << 20

    init(context: ProducerContext, openStreams: [() throws -> ByteStream], ingest: FlowIngest) {
        self.context = context
        self.openStreams = openStreams
        self.ingest = ingest
    }

    func run() {
        let capacity = Self.readChunkBytes + CaptureStreamDecoder.maximumRecordByteCount
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buffer.deallocate() }
        for open in openStreams {
            if context.stopRequested.load(ordering: .relaxed) { break }
            let stream: AutoDecompressingStream
            do {
                let input = try open()
                stream = AutoDecompressingStream(input, reportDamage: context.damageReporter(streamName: input.name))
            } catch {
                context.counters.sourceErrors.wrappingIncrement(ordering: .relaxed)
                context.counters.unreadableInputs.wrappingIncrement(ordering: .relaxed)
                context.logger.error("\(error)")
                continue
            }
            context.counters.streamsOpened.wrappingIncrement(ordering: .relaxed)
            var consumer = Consumer(ingest: ingest, context: context, streamName: stream.name)
            var decoder = CaptureStreamDecoder()
            var filled = 0
            var bytesReadCounted = 0
            do {
                while !context.stopRequested.load(ordering: .relaxed) {
                    let tail = UnsafeMutableRawBufferPointer(
                        rebasing: buffer[filled..<min(capacity, filled + Self.readChunkBytes)]
                    )
                    let count = try stream.read(into: tail)
                    context.counters.bytesRead.wrappingIncrement(
                        by: stream.inputBytesRead - bytesReadCounted,
                        ordering: .relaxed
                    )
                    bytesReadCounted = stream.inputBytesRead
                    if count == 0 { break }
                    context.counters.bytesDecompressed.wrappingIncrement(by: count, ordering: .relaxed)
                    context.noteInput()
                    context.busyProducers.wrappingIncrement(ordering: .sequentiallyConsistent)
                    filled += count
                    ingest.setNow(ResourceUsage.monotonicNanoseconds())
                    let consumed = decoder.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), into: &consumer)
                    if consumed > 0 && consumed < filled {
                        buffer.baseAddress!.copyMemory(
                            from: buffer.baseAddress! + consumed,
                            byteCount: filled - consumed
                        )
                    }
                    filled -= consumed
                    ingest.publishCounts()
                    context.busyProducers.wrappingDecrement(ordering: .sequentiallyConsistent)
                    if decoder.hasFailed { break }
                    if count < tail.count / 2 {
                        // A slow pipe: do not let readings wait in partly filled batches.
                        ingest.flushQuietExporters()
                        context.router.flush()
                        context.expireIdleSources()
                    }
                }
            } catch is StreamStopped {
            } catch {
                context.counters.sourceErrors.wrappingIncrement(ordering: .relaxed)
                context.counters.unreadableInputs.wrappingIncrement(ordering: .relaxed)
                context.logger.error("\(error); keeping what was read before it")
            }
            if !context.stopRequested.load(ordering: .relaxed) {
                decoder.finish(remaining: UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), into: &consumer)
            }
            stream.close()
        }
        ingest.finish()
        context.router.finish()
    }

    /// The capture reader's view: UDP datagrams to the flow ingest, capture errors counted and logged.
    struct Consumer: CapturedDatagramConsumer {
        let ingest: FlowIngest
        let context: ProducerContext
        let streamName: String
        var errorLines = LogLineBudget(limit: 20)

        mutating func capturedDatagram(
            _ payload: UnsafeRawBufferPointer,
            source: IPAddress,
            sourcePort: UInt16,
            destination: IPAddress,
            destinationPort: UInt16,
            timestampNanoseconds: Int64
        ) {
            ingest.decode(payload, from: source, sourcePort: sourcePort, arrivalNanoseconds: timestampNanoseconds)
        }

        mutating func captureError(_ error: FlowDecodeError) {
            context.counters.countDecodeError(kind: error.reason.rawValue)
            // Packets that are not flow datagrams (other traffic in the capture) are counted, not logged.
            guard error.reason != .notUDP else { return }
            errorLines.log(
                context.logger,
                .warning,
                "\(streamName): \(error)",
                closing: "\(streamName): more capture errors; no longer logging them"
            )
        }
    }
}
