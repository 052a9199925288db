// `opsctl serve --history-retention-days N`: how long events, log lines and metric points are kept
// (docs/history.md). Validated here, so a bad value stops `serve` before it starts, naming the flag.

import Control

enum HistoryOptions {
    static let retentionDays = TypedOption(
        "history-retention-days", value: "DAYS",
        help: "events, log lines and metrics older than this are dropped, a week at a time (0 = keep forever)",
        environment: "OPS_HISTORY_RETENTION_DAYS", default: ControlPlaneConfiguration.defaultHistoryRetentionDays,
        parser: .integer(in: ControlPlaneConfiguration.historyRetentionDaysRange))

    static let specs = [retentionDays.spec]
}
