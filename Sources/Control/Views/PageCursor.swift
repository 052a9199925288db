// Keyset paging for the list routes: a page is the rows after the last one the client saw, found by the sort key
// and id of that row, so a page costs one index range scan however deep the client is (an OFFSET would read and
// drop every earlier row) and rows inserted meanwhile never shift what comes next.

import APITypes
import Foundation

/// The position after one row: its sort key and id. On the wire it is opaque: base64 of `v1:<key>:<id>`, so a
/// client passes back what it got and the format can change (a new version prefix) without breaking old clients'
/// expectations beyond a 400.
struct PageCursor: Equatable {
    /// The row's sort key (its id for lists ordered by id alone, its job's id for tasks).
    var key: Int64
    var id: Int64

    init(key: Int64, id: Int64) {
        self.key = key
        self.id = id
    }

    var encoded: String { Data("v1:\(key):\(id)".utf8).base64EncodedString() }

    /// The cursor a client sent, or nil when the text is not one this server made.
    init?(encoded text: String) {
        guard text.count <= 128, let data = Data(base64Encoded: text),
            let plain = String(data: data, encoding: .utf8)
        else { return nil }
        let parts = plain.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let key = Int64(parts[1]), let id = Int64(parts[2]),
            key >= 0, id >= 0
        else { return nil }
        self.init(key: key, id: id)
    }
}

/// What one list request asks for: `?limit=` (checked against `ListPaging`) and `?cursor=`.
struct PageRequest {
    var limit: Int
    var after: PageCursor?

    init(limit: Int = ListPaging.defaultLimit, after: PageCursor? = nil) {
        precondition(ListPaging.limits.contains(limit), "page limit \(limit) outside \(ListPaging.limits)")
        self.limit = limit
        self.after = after
    }

    /// The rows to read: one more than a page, so that whether more exist is known without a count.
    var rowsToRead: Int { limit + 1 }

    /// A page of `rows` (read with `rowsToRead`): the first `limit`, and a cursor after the last of them when the
    /// extra row came back.
    func page<Row, Item: Codable & Sendable>(
        _ rows: [Row], cursor: (Row) -> PageCursor, view: (Row) throws -> Item
    ) rethrows -> ListResponse<Item> {
        let kept = rows.prefix(limit)
        let next = rows.count > limit ? kept.last.map { cursor($0).encoded } : nil
        return ListResponse(items: try kept.map(view), nextCursor: next)
    }
}

extension RequestContext {
    /// `?limit=` (default `ListPaging.defaultLimit`) and `?cursor=`; either malformed is a 400 naming it.
    func pageRequest() throws -> PageRequest {
        let limit = try queryInt("limit", default: ListPaging.defaultLimit, range: ListPaging.limits)
        guard let text = request.query("cursor"), !text.isEmpty else { return PageRequest(limit: limit) }
        guard let cursor = PageCursor(encoded: text) else {
            throw APIErrorBody(
                code: .badRequest,
                message:
                    "query parameter cursor: expected the nextCursor of a previous response of this list, got \"\(text.prefix(128))\""
            )
        }
        return PageRequest(limit: limit, after: cursor)
    }
}
