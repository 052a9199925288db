import Primitives
import XCTest
import YAML

/// Arbitrary input never crashes the parser: it yields documents or a positioned error.
final class YAMLRobustnessTests: XCTestCase {
    func testRandomInputParsesOrFailsWithAPosition() {
        var generator = SplitMix64(seed: 42)
        let alphabet = Array("ab01:- \n\t{}[],&*!|>'\"#%@`?~.<<\\é")
        for _ in 0..<3000 {
            let length = Int(generator.next() % 60)
            let text = String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
            do {
                _ = try YAMLParser.parseDocuments(text, fileName: "fuzz.yaml")
            } catch {
                XCTAssertGreaterThanOrEqual(error.position.line, 1, text)
                XCTAssertGreaterThanOrEqual(error.position.column, 1, text)
                XCTAssertTrue(error.description.hasPrefix("fuzz.yaml:"), error.description)
            }
        }
    }
}
