import Testing
import VigilCore

@Suite("CRC32C")
struct CRC32CTests {
    @Test("matches the published check value for \"123456789\" (0xE3069283)")
    func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test("hardware and table paths agree on every length from 0 to 300 and any split")
    func pathsAgree() {
        var generator = SplitMix64(seed: 7)
        let bytes = (0..<300).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        bytes.withUnsafeBytes { all in
            for length in 0...300 {
                let slice = UnsafeRawBufferPointer(rebasing: all[0..<length])
                let whole = CRC32C.checksum(slice)
                #expect(whole == CRC32C.portableChecksum(slice))
                let half = length / 2
                let split = CRC32C.checksum(
                    UnsafeRawBufferPointer(rebasing: all[half..<length]),
                    continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[0..<half]))
                )
                #expect(split == whole)
            }
        }
    }

    @Test("the three-lane path agrees with the table path around every lane threshold, and across splits")
    func lanesAgree() {
        var generator = SplitMix64(seed: 11)
        let bytes = (0..<120_008).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let lengths = [767, 768, 769, 775, 776, 1_535, 1_536, 24_575, 24_576, 24_577, 24_583, 25_344, 49_152, 119_999]
        bytes.withUnsafeBytes { all in
            for length in lengths {
                for offset in [0, 1, 5] {
                    let slice = UnsafeRawBufferPointer(rebasing: all[offset..<offset + length])
                    let whole = CRC32C.checksum(slice)
                    #expect(whole == CRC32C.portableChecksum(slice), "length \(length), offset \(offset)")
                    let cut = length / 3
                    let split = CRC32C.checksum(
                        UnsafeRawBufferPointer(rebasing: all[offset + cut..<offset + length]),
                        continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[offset..<offset + cut]))
                    )
                    #expect(split == whole, "length \(length), offset \(offset)")
                }
            }
        }
    }

    @Test("combine and suffixChecksum agree with a direct pass on random splits of random lengths", arguments: 1...8)
    func combineAgreesWithDirectChecksum(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let bytes = (0..<70_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        bytes.withUnsafeBytes { all in
            for _ in 0..<50 {
                // Lengths from empty to tens of kilobytes, so every table power up to 2^19 bytes is used.
                let start = Int(generator.next() % 100)
                let length = Int(generator.next() % UInt64(generator.next() % 2 == 0 ? 40 : all.count - start))
                let cut = length == 0 ? 0 : Int(generator.next() % UInt64(length + 1))
                let prefix = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[start..<start + cut]))
                let suffix = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[start + cut..<start + length]))
                let whole = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[start..<start + length]))
                #expect(
                    CRC32C.combine(prefix, suffix, secondByteCount: length - cut) == whole,
                    "start \(start), length \(length), cut \(cut)"
                )
                #expect(
                    CRC32C.suffixChecksum(whole: whole, prefix: prefix, suffixByteCount: length - cut) == suffix,
                    "start \(start), length \(length), cut \(cut)"
                )
            }
        }
    }

    @Test("combine of the check value's halves gives 0xE3069283; an empty side changes nothing")
    func combineHandComputed() {
        let first = CRC32C.checksum(Array("1234".utf8))
        let second = CRC32C.checksum(Array("56789".utf8))
        #expect(CRC32C.combine(first, second, secondByteCount: 5) == 0xE306_9283)
        #expect(CRC32C.combine(0xE306_9283, 0, secondByteCount: 0) == 0xE306_9283)
        #expect(CRC32C.combine(0, 0xE306_9283, secondByteCount: 9) == 0xE306_9283)
    }

    /// Lengths past what a test can checksum directly (up to 2^62 bytes) still obey associativity:
    /// (A B) C and A (B C) are the same message, so both ways of combining must agree.
    @Test("combine is associative over lengths up to 2^62 bytes, which use the table's highest powers")
    func combineIsAssociativeAtHugeLengths() {
        var generator = SplitMix64(seed: 99)
        for _ in 0..<200 {
            let a = UInt32(truncatingIfNeeded: generator.next())
            let b = UInt32(truncatingIfNeeded: generator.next())
            let c = UInt32(truncatingIfNeeded: generator.next())
            let bLength = Int(generator.next() >> 3)  // below 2^61
            let cLength = Int(generator.next() >> 3)
            let left = CRC32C.combine(CRC32C.combine(a, b, secondByteCount: bLength), c, secondByteCount: cLength)
            let right = CRC32C.combine(
                a,
                CRC32C.combine(b, c, secondByteCount: cLength),
                secondByteCount: bLength + cLength
            )
            #expect(left == right, "lengths \(bLength), \(cLength)")
        }
    }
}
