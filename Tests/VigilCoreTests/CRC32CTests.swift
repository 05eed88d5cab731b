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
}
