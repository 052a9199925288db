// What `opsctl get --watch` prints each time it lists again: nothing when the listing is unchanged; on a terminal
// the screen redrawn from the top under a header; elsewhere (a pipe, a log) each changed listing after a blank
// line, so a reader of the log sees every state once, in order.

import Foundation

struct WatchFrames {
    /// On a terminal: clear and redraw; otherwise append.
    let live: Bool
    /// `every 2s: opsctl get jobs`, the header of a live screen.
    let header: String
    private(set) var previous: String?

    init(live: Bool, header: String) {
        self.live = live
        self.header = header
    }

    /// The text to write for `listing` taken at `time`, or nil when it is what was last shown.
    mutating func frame(_ listing: String, at time: Date) -> String? {
        guard listing != previous else { return nil }
        defer { previous = listing }
        if live {
            // Home, clear the screen, header with the time of this listing.
            return "\u{1B}[H\u{1B}[2J" + header + "  " + UTCClock.clock(time) + "\n\n" + listing
        }
        return previous == nil ? listing : "\n" + listing
    }
}

/// `14:03:07` in UTC, as the header of a live watch shows when the listing last changed.
enum UTCClock {
    static func clock(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down)) % 86_400
        let hh = seconds / 3600
        let mm = seconds % 3600 / 60
        let ss = seconds % 60
        return [hh, mm, ss].map { $0 < 10 ? "0\($0)" : "\($0)" }.joined(separator: ":") + " UTC"
    }
}
