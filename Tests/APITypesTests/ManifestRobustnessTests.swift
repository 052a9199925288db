import APITypes
import Foundation
import XCTest

/// Mutated example manifests either parse or are rejected with problems that each name a file and a line.
final class ManifestRobustnessTests: XCTestCase {
    func testMutatedManifestsNeverCrashAndAlwaysExplainThemselves() throws {
        let source = try String(
            contentsOf: ManifestExampleTests.examples.appendingPathComponent("pipeline.yaml"), encoding: .utf8)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let replacements = [
            "-1", "\"two\"", "[]", "{}", "null", "1.5", "true", "x", "0", "99999999999999999999", "Bad_Name",
        ]
        var state: UInt64 = 7
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        var rejected = 0
        for _ in 0..<600 {
            var mutated = lines
            for _ in 0..<(1 + next() % 3) {
                let index = next() % mutated.count
                guard let colon = mutated[index].firstIndex(of: ":") else { continue }
                switch next() % 3 {
                case 0:
                    mutated[index] = String(mutated[index][...colon]) + " " + replacements[next() % replacements.count]
                case 1:
                    mutated[index] =
                        String(mutated[index][..<colon]) + "x:"
                        + String(mutated[index][mutated[index].index(after: colon)...])
                default: mutated.remove(at: index)
                }
            }
            do {
                let jobs = try ManifestParser.parse(text: mutated.joined(separator: "\n"), fileName: "m.yaml")
                XCTAssertFalse(jobs.isEmpty)
            } catch {
                rejected += 1
                XCTAssertFalse(error.problems.isEmpty)
                for problem in error.problems {
                    XCTAssertEqual(problem.fileName, "m.yaml")
                    XCTAssertNotNil(problem.line, problem.description)
                    XCTAssertFalse(problem.message.isEmpty)
                }
            }
        }
        XCTAssertGreaterThan(rejected, 300, "most mutations are errors")
    }
}
