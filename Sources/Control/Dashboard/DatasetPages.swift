import APITypes
import Foundation

/// The datasets page and one dataset's page with its shards.
enum DatasetPages {
    /// Shards one page lists (a dataset of more says how many more there are).
    static let shardsMax = 1_000
    /// Jobs one page lists as the dataset's readers, newest first.
    static let readersMax = 100

    static func list(_ datasets: ListResponse<DatasetView>, session: DashboardSession) -> HTML {
        let rows = datasets.items.map { dataset -> HTML in
            """
            <tr data-dataset="\(dataset.name)">
            <th scope="row"><a href="\(APIRoute.dashboardDataset.path(dataset.name))">\(dataset.name)</a></th>
            <td>\(dataset.state)</td>
            <td>\(madeBy(dataset))</td>
            <td>\(dataset.shardCount)</td>
            <td>\(dataset.tokenCount)</td>
            <td>\(DashboardLayout.bytes(dataset.bytes))</td>
            <td>\(dataset.tokenizer ?? "—")</td>
            <td>\(DashboardLayout.time(dataset.createdAt))</td>
            </tr>
            """
        }
        let body: HTML =
            datasets.items.isEmpty
            ? "<p>No datasets yet: a tokenize job makes one.</p>"
            : """
            <table id="datasets">
            <caption>Datasets</caption>
            <thead><tr><th scope="col">Dataset</th><th scope="col">State</th><th scope="col">Made by job</th><th scope="col">Shards</th><th scope="col">Tokens</th><th scope="col">Size</th><th scope="col">Tokenizer</th><th scope="col">Created</th></tr></thead>
            <tbody>\(rows)</tbody>
            </table>
            """
        return DashboardLayout.page(title: "Datasets", session: session, section: .datasets, body: body)
    }

    static func detail(
        _ dataset: DatasetView, shards: ListResponse<ShardView>, readers: [DatasetReader], lineage: LineageGraph?,
        session: DashboardSession
    ) -> HTML {
        let rows = shards.items.map { shard -> HTML in
            """
            <tr>
            <th scope="row">\(shard.index)</th>
            <td>\(shard.state ?? "—")\(shard.badReason.map { reason -> HTML in ": \(reason)" } ?? .empty)</td>
            <td>\(shard.tokens)</td>
            <td>\(shard.documents.map(String.init) ?? "—")</td>
            <td>\(DashboardLayout.bytes(shard.bytes))</td>
            <td><code>\(shard.sha256)</code></td>
            <td><code>\(shard.location)</code></td>
            </tr>
            """
        }
        let more: HTML =
            shards.nextCursor == nil
            ? .empty
            : "<p>The first \(shardsMax) of \(dataset.shardCount) shards; <code>opsctl get shards \(dataset.name)</code> lists all.</p>"
        let body: HTML = """
            <dl class="facts">
            <dt>State</dt><dd>\(dataset.state)</dd>
            <dt>Made by job</dt><dd>\(madeBy(dataset))</dd>
            <dt>Read by jobs</dt><dd id="readers">\(readBy(readers))</dd>
            <dt>Shards</dt><dd>\(dataset.shardCount)</dd>
            <dt>Tokens</dt><dd>\(dataset.tokenCount)</dd>
            <dt>Size</dt><dd>\(DashboardLayout.bytes(dataset.bytes))</dd>
            <dt>Tokenizer</dt><dd>\(dataset.tokenizer ?? "—")</dd>
            </dl>
            <table id="shards">
            <caption>Shards of \(dataset.name)</caption>
            <thead><tr><th scope="col">Shard</th><th scope="col">State</th><th scope="col">Tokens</th><th scope="col">Documents</th><th scope="col">Size</th><th scope="col">SHA-256</th><th scope="col">Location</th></tr></thead>
            <tbody>\(rows)</tbody>
            </table>
            \(more)
            \(LineageSection.render(lineage))
            """
        return DashboardLayout.page(title: "Dataset \(dataset.name)", session: session, section: .datasets, body: body)
    }

    /// The jobs whose manifests read the dataset, each with its state, newest first.
    private static func readBy(_ readers: [DatasetReader]) -> HTML {
        guard !readers.isEmpty else { return "none yet" }
        let items = readers.map { reader -> HTML in
            "<li><a href=\"\(APIRoute.dashboardJob.path(reader.jobName))\">\(reader.jobName)</a> <span class=\"state state-\(reader.state.rawValue)\">\(reader.state.rawValue)</span></li>"
        }
        let more: HTML = readers.count == readersMax ? "<li>(the newest \(readersMax))</li>" : .empty
        return "<ul class=\"readers\">\(items)\(more)</ul>"
    }

    private static func madeBy(_ dataset: DatasetView) -> HTML {
        dataset.jobName.map { job -> HTML in "<a href=\"\(APIRoute.dashboardJob.path(job))\">\(job)</a>" } ?? "—"
    }
}
