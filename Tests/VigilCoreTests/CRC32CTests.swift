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
}
