import Foundation
import Testing
import VigilCore

@Suite("JSON text")
struct JSONTextTests {
    @Test("quotes, backslashes and control characters are escaped; the rest passes through")
    func escapes() throws {
        #expect(JSONText.string("plain") == "\"plain\"")
        #expect(JSONText.string("a\"b\\c") == "\"a\\\"b\\\\c\"")
        #expect(JSONText.string("line\nbreak\ttab\r") == "\"line\\nbreak\\ttab\\r\"")
        #expect(JSONText.string("\u{01}\u{1F}") == "\"\\u0001\\u001f\"")
        #expect(JSONText.string("et-0/0/0 °C") == "\"et-0/0/0 °C\"")
        // Whatever goes in comes back out of a real JSON parser.
        let awkward = "q\"b\\s/\n\t\u{07}é😀"
        let parsed =
            try JSONSerialization.jsonObject(
                with: Data(("[" + JSONText.string(awkward) + "]").utf8)
            ) as? [String]
        #expect(parsed == [awkward])
    }
}
