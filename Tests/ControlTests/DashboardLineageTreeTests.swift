// The dashboard's lineage tree: pre-order nodes with depths become balanced nested lists, every value escaped.

import APITypes
import XCTest

@testable import Control

final class DashboardLineageTreeTests: XCTestCase {
    private func node(_ depth: Int, _ kind: LineageKind, _ id: String, _ relation: String? = nil) -> LineageTreeNode {
        LineageTreeNode(depth: depth, kind: kind, id: id, relation: relation, detail: .object([:]))
    }

    private func shape(_ nodes: [LineageTreeNode]) -> String {
        // Only the structure: each item reduced to its id.
        LineageSection.tree(nodes).text
            .replacingOccurrences(
                of: #"<li>(<span class="relation">[^<]*</span> )?<span class="kind">[a-z]+</span> <code>"#,
                with: "<li>", options: .regularExpression
            )
            .replacingOccurrences(of: "</code>", with: "")
    }

    func testDepthsBecomeNestedListsThatAllClose() {
        let cases: [(depths: [Int], expected: String)] = [
            ([0], "<ul><li>n0</li></ul>"),
            ([0, 1], "<ul><li>n0<ul><li>n1</li></ul></li></ul>"),
            ([0, 1, 1], "<ul><li>n0<ul><li>n1</li><li>n2</li></ul></li></ul>"),
            ([0, 1, 2, 2, 1], "<ul><li>n0<ul><li>n1<ul><li>n2</li><li>n3</li></ul></li><li>n4</li></ul></li></ul>"),
            (
                [0, 1, 2, 3, 1],
                "<ul><li>n0<ul><li>n1<ul><li>n2<ul><li>n3</li></ul></li></ul></li><li>n4</li></ul></li></ul>"
            ),
            ([], ""),
        ]
        for (depths, expected) in cases {
            let nodes = depths.enumerated().map { node($0.element, .dataset, "n\($0.offset)") }
            XCTAssertEqual(shape(nodes), expected, "depths \(depths)")
        }
    }

    func testRelationsKindsAndOmittedChildrenAreShownAndIdsEscaped() {
        var root = node(0, .checkpoint, "run@12")
        root.omittedChildren = 3
        let html = LineageSection.tree([root, node(1, .dataset, "<script>", "trained-on")]).text
        XCTAssertTrue(
            html.contains(
                #"<span class="kind">checkpoint</span> <code>run@12</code> <span class="omitted">(3 more not shown)</span>"#
            ), html)
        XCTAssertTrue(
            html.contains(
                #"<span class="relation">trained-on</span> <span class="kind">dataset</span> <code>&lt;script&gt;</code>"#
            ), html)
        XCTAssertEqual(LineageSection.render(nil), .empty)
    }
}
