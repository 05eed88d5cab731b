import VigilCore

/// Writes native frames (docs/wire-format.md) by appending them to a byte array. Pure: no I/O.
///
/// Data is split into frames of at most ``samplesPerDataFrame`` samples, schema entries into frames whose
/// payload stays within ``maxPayloadBytes``, so a decoder with the same limit accepts everything written.
public struct NativeEncoder: Sendable {
    /// The most samples one data frame carries.
    public let samplesPerDataFrame: Int
    /// The payload limit of the decoders this stream is for.
    public let maxPayloadBytes: Int

    /// - Parameters:
    ///   - samplesPerDataFrame: at least 1, and small enough for a data payload to fit `maxPayloadBytes`
    ///     (the default 8192 samples make 163,848-byte payloads).
    ///   - maxPayloadBytes: at most `UInt32.max`, and large enough for the largest schema entry (69,778 bytes
    ///     with its count); default 4 MiB.
    public init(samplesPerDataFrame: Int = 8192, maxPayloadBytes: Int = NativeFormat.defaultMaxPayloadBytes) {
        precondition(
            UInt64(maxPayloadBytes) <= UInt64(UInt32.max)
                && maxPayloadBytes >= 4 + NativeFormat.maxSchemaEntryByteCount,
            "maxPayloadBytes must be in \(4 + NativeFormat.maxSchemaEntryByteCount)...UInt32.max"
        )
        precondition(
            samplesPerDataFrame >= 1
                && samplesPerDataFrame <= NativeFormat.maxSamplesPerDataFrame(maxPayloadBytes: maxPayloadBytes),
            "samplesPerDataFrame must be at least 1 and fit a payload of \(maxPayloadBytes) bytes"
        )
        self.samplesPerDataFrame = samplesPerDataFrame
        self.maxPayloadBytes = maxPayloadBytes
    }

    // MARK: - Schema

    /// Appends schema frames declaring `entries`, in order, splitting them so each payload fits
    /// ``maxPayloadBytes``. Appends nothing for no entries.
    ///
    /// O(total entry bytes). Every entry is validated first; on error `out` is unchanged.
    /// - Throws: ``NativeEncodeError`` for a wire id over 24 bits, more than 32 extra labels or a string over
    ///   1024 UTF-8 bytes.
    public func appendSchemaFrames(_ entries: [SchemaEntry], to out: inout [UInt8]) throws(NativeEncodeError) {
        var totalByteCount = 0
        for entry in entries {
            try Self.validate(entry)
            totalByteCount += Self.schemaEntryByteCount(entry)
        }
        out.reserveCapacity(out.count + totalByteCount + 28 * (1 + totalByteCount / (maxPayloadBytes - 4)))
        var frameStartIndex = 0
        // Bounded: every frame takes at least one entry (each fits, checked by `init`).
        while frameStartIndex < entries.count {
            var payloadByteCount = 4
            var frameEndIndex = frameStartIndex
            while frameEndIndex < entries.count {
                let entryByteCount = Self.schemaEntryByteCount(entries[frameEndIndex])
                if payloadByteCount + entryByteCount > maxPayloadBytes { break }
                payloadByteCount += entryByteCount
                frameEndIndex += 1
            }
            assert(frameEndIndex > frameStartIndex, "a schema entry larger than the payload limit")
            let frameStart = out.count
            out.append(contentsOf: repeatElement(0, count: NativeFormat.headerByteCount))
            _appendLittleEndian(UInt32(frameEndIndex - frameStartIndex), to: &out)
            for entry in entries[frameStartIndex..<frameEndIndex] {
                Self._appendEntry(entry, to: &out)
            }
            Self._sealFrame(type: NativeFrameType.schema.rawValue, frameStart: frameStart, in: &out)
            frameStartIndex = frameEndIndex
        }
    }

    /// Checks that `entry` can be written: wire id within 24 bits, at most 32 extra labels, every string at
    /// most 1024 UTF-8 bytes.
    public static func validate(_ entry: SchemaEntry) throws(NativeEncodeError) {
        let wireID = entry.wireID
        guard wireID <= NativeFormat.maxWireSeriesID else { throw .wireIDOutOfRange(wireID: wireID) }
        let key = entry.descriptor.key
        guard key.extraLabels.count <= NativeFormat.maxExtraLabelCount else {
            throw .tooManyExtraLabels(wireID: wireID, count: key.extraLabels.count)
        }
        var fields: [(SchemaField, String)] = [
            (.device, key.device), (.interface, key.interface), (.metric, key.metric),
            (.unit, entry.descriptor.unit),
        ]
        for (index, label) in key.extraLabels.enumerated() {
            fields.append((.labelName(index: index), label.name))
            fields.append((.labelValue(index: index), label.value))
        }
        for (field, string) in fields where string.utf8.count > NativeFormat.maxStringByteCount {
            throw .stringTooLong(wireID: wireID, field: field, byteCount: string.utf8.count)
        }
    }

    /// The bytes `entry` takes in a schema payload. O(number of labels).
    public static func schemaEntryByteCount(_ entry: SchemaEntry) -> Int {
        let key = entry.descriptor.key
        var byteCount = 4 + 1 + 1
        byteCount += 2 + key.device.utf8.count
        byteCount += 2 + key.interface.utf8.count
        byteCount += 2 + key.metric.utf8.count
        byteCount += 2 + entry.descriptor.unit.utf8.count
        for label in key.extraLabels {
            byteCount += 4 + label.name.utf8.count + label.value.utf8.count
        }
        return byteCount
    }

    static func _appendEntry(_ entry: SchemaEntry, to out: inout [UInt8]) {
        let key = entry.descriptor.key
        _appendLittleEndian(entry.wireID, to: &out)
        out.append(entry.descriptor.kind.rawValue)
        out.append(UInt8(key.extraLabels.count))
        _appendString(key.device, to: &out)
        _appendString(key.interface, to: &out)
        _appendString(key.metric, to: &out)
        _appendString(entry.descriptor.unit, to: &out)
        for label in key.extraLabels {
            _appendString(label.name, to: &out)
            _appendString(label.value, to: &out)
        }
    }

    // MARK: - Data

    /// Appends data frames carrying the samples `(timestamps[i], wireIDs[i], values[i])`, at most
    /// ``samplesPerDataFrame`` per frame, in order. Appends nothing for no samples.
    ///
    /// O(samples): three `memcpy`s per frame on little-endian hosts, plus one CRC32C pass. Wire ids are written
    /// as given; declare them with ``appendSchemaFrames(_:to:)`` first.
    /// - Precondition: the three columns have the same count.
    public func appendDataFrames(
        timestamps: UnsafeBufferPointer<Int64>,
        wireIDs: UnsafeBufferPointer<UInt32>,
        values: UnsafeBufferPointer<Double>,
        to out: inout [UInt8]
    ) {
        precondition(
            timestamps.count == wireIDs.count && timestamps.count == values.count,
            "timestamps, wireIDs and values must have the same count"
        )
        let sampleCount = timestamps.count
        guard sampleCount > 0 else { return }
        let frameCount = (sampleCount + samplesPerDataFrame - 1) / samplesPerDataFrame
        out.reserveCapacity(
            out.count + frameCount * (NativeFormat.headerByteCount + NativeFormat.dataPayloadPrefixByteCount)
                + sampleCount * NativeFormat.dataBytesPerSample
        )
        var start = 0
        // Bounded: `start` advances by at least one sample per frame.
        while start < sampleCount {
            let end = min(start + samplesPerDataFrame, sampleCount)
            let frameStart = out.count
            out.append(contentsOf: repeatElement(0, count: NativeFormat.headerByteCount))
            _appendLittleEndian(UInt32(end - start), to: &out)
            _appendLittleEndian(UInt32(0), to: &out)
            _appendColumn(UnsafeBufferPointer(rebasing: timestamps[start..<end]), to: &out)
            UnsafeBufferPointer(rebasing: values[start..<end]).withMemoryRebound(to: UInt64.self) {
                _appendColumn($0, to: &out)
            }
            _appendColumn(UnsafeBufferPointer(rebasing: wireIDs[start..<end]), to: &out)
            Self._sealFrame(type: NativeFrameType.data.rawValue, frameStart: frameStart, in: &out)
            start = end
        }
    }

    /// Array convenience for ``appendDataFrames(timestamps:wireIDs:values:to:)``.
    public func appendDataFrames(timestamps: [Int64], wireIDs: [UInt32], values: [Double], to out: inout [UInt8]) {
        timestamps.withUnsafeBufferPointer { timestamps in
            wireIDs.withUnsafeBufferPointer { wireIDs in
                values.withUnsafeBufferPointer { values in
                    appendDataFrames(timestamps: timestamps, wireIDs: wireIDs, values: values, to: &out)
                }
            }
        }
    }

    // MARK: - Frames

    /// Appends one frame of `type` around an arbitrary `payload`, with both checksums: for forwarders that
    /// re-frame payloads, and for tests that need frames the typed API refuses to write.
    /// - Precondition: `payload.count <= UInt32.max`.
    public static func appendFrame(
        typeRawValue: UInt8,
        version: UInt8 = NativeFormat.version,
        payload: UnsafeRawBufferPointer,
        to out: inout [UInt8]
    ) {
        precondition(UInt64(payload.count) <= UInt64(UInt32.max), "a payload is at most UInt32.max bytes")
        let frameStart = out.count
        out.reserveCapacity(frameStart + NativeFormat.headerByteCount + payload.count)
        out.append(contentsOf: repeatElement(0, count: NativeFormat.headerByteCount))
        out.append(contentsOf: payload)
        _sealFrame(type: typeRawValue, version: version, frameStart: frameStart, in: &out)
    }

    /// Fills in the header of the frame starting at `frameStart`, whose payload is everything after its header.
    static func _sealFrame(type: UInt8, version: UInt8 = NativeFormat.version, frameStart: Int, in out: inout [UInt8]) {
        out.withUnsafeMutableBytes { buffer in
            let header = buffer.baseAddress! + frameStart
            let payloadByteCount = buffer.count - frameStart - NativeFormat.headerByteCount
            let payloadChecksum = CRC32C.checksum(
                UnsafeRawBufferPointer(start: header + NativeFormat.headerByteCount, count: payloadByteCount)
            )
            header.storeBytes(
                of: NativeFormat.magic.littleEndian,
                toByteOffset: _NativeHeader.magicOffset,
                as: UInt32.self
            )
            header.storeBytes(of: version, toByteOffset: _NativeHeader.versionOffset, as: UInt8.self)
            header.storeBytes(of: type, toByteOffset: _NativeHeader.typeOffset, as: UInt8.self)
            header.storeBytes(of: UInt16(0), toByteOffset: _NativeHeader.flagsOffset, as: UInt16.self)
            header.storeBytes(
                of: UInt32(payloadByteCount).littleEndian,
                toByteOffset: _NativeHeader.payloadLengthOffset,
                as: UInt32.self
            )
            header.storeBytes(
                of: payloadChecksum.littleEndian,
                toByteOffset: _NativeHeader.payloadChecksumOffset,
                as: UInt32.self
            )
            header.storeBytes(of: UInt32(0), toByteOffset: _NativeHeader.reservedOffset, as: UInt32.self)
            _storeHeaderChecksum(header)
        }
    }

    /// Writes the header CRC32C of the header at `header` (over its bytes `0..<20`).
    static func _storeHeaderChecksum(_ header: UnsafeMutableRawPointer) {
        let headerChecksum = CRC32C.checksum(
            UnsafeRawBufferPointer(start: header, count: NativeFormat.headerChecksummedByteCount)
        )
        header.storeBytes(
            of: headerChecksum.littleEndian,
            toByteOffset: _NativeHeader.headerChecksumOffset,
            as: UInt32.self
        )
    }
}

private func _appendLittleEndian<Integer: FixedWidthInteger>(_ value: Integer, to out: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
}

/// A string as `u16` UTF-8 length and bytes; the caller has validated the length.
private func _appendString(_ string: String, to out: inout [UInt8]) {
    var string = string
    string.withUTF8 { utf8 in
        _appendLittleEndian(UInt16(utf8.count), to: &out)
        out.append(contentsOf: utf8)
    }
}

/// A column of little-endian integers: one `memcpy` on little-endian hosts.
private func _appendColumn<Integer: FixedWidthInteger>(_ column: UnsafeBufferPointer<Integer>, to out: inout [UInt8]) {
    #if _endian(little)
    out.append(contentsOf: UnsafeRawBufferPointer(column))
    #else
    for element in column {
        _appendLittleEndian(element, to: &out)
    }
    #endif
}
