// The why-pending clause of `PendingCause.notDecontaminated`: which training dataset misses which evals, and the
// `decontaminate` that would cover them, e.g.
// "training dataset web was made without decontaminate, so not against eval dataset heldout; make a new dataset
//  with decontaminate: {evals: ["/evals/heldout.jsonl"]} (a tokenize job writing another output.dataset) and
//  train on that".

enum DecontaminationText {
    /// Names listed per list; the rest are counted, so a job declaring many evals keeps a readable reason.
    static let maxListed = 8

    static func render(_ gaps: [DecontaminationGap]) -> String {
        gaps.map(render).joined(separator: "; ")
    }

    static func render(_ gap: DecontaminationGap) -> String {
        let missed = list(gap.uncovered.map(name))
        guard let against = gap.decontaminatedAgainst else {
            return
                "training dataset \(gap.dataset) is not registered, so its decontamination against \(missed) cannot be checked; the job starts once a tokenize job with decontaminate makes it"
        }
        var suggested = against
        var unknown: [String] = []
        for eval in gap.uncovered {
            switch eval {
            case .dataset(let name, let files):
                guard let files, !files.isEmpty else {
                    unknown.append(name)
                    continue
                }
                for file in files where !suggested.contains(file.name) { suggested.append(file.name) }
            case .path(let directory):
                // The rule looks for eval files under the directory: the eval's text kept beside its tokens.
                suggested.append((directory.hasSuffix("/") ? directory : directory + "/") + "*.jsonl")
            }
        }
        let what =
            against.isEmpty
            ? "was made without decontaminate, so not against \(missed)"
            : "was decontaminated against \(list(against)) but not against \(missed)"
        var text =
            "training dataset \(gap.dataset) \(what); make a new dataset with decontaminate: {evals: [\(yamlList(suggested))]} (a tokenize job writing another output.dataset) and train on that"
        if !unknown.isEmpty {
            text +=
                " (eval dataset\(unknown.count == 1 ? "" : "s") \(list(unknown)) \(unknown.count == 1 ? "has" : "have") no recorded source files: add the files \(unknown.count == 1 ? "it was" : "they were") tokenized from)"
        }
        return text
    }

    static func name(_ eval: DecontaminationFacts.DeclaredEval) -> String {
        switch eval {
        case .dataset(let name, _): return "eval dataset \(name)"
        case .path(let directory): return "eval path \(directory)"
        }
    }

    /// `"a", "b"` as the items of a YAML flow list; past `maxListed`, `"a", "b", … (3 more)`.
    static func yamlList(_ items: [String]) -> String {
        let shown = items.prefix(maxListed).map { "\"\($0)\"" }.joined(separator: ", ")
        return items.count > maxListed ? shown + ", … (\(items.count - maxListed) more)" : shown
    }

    /// "a, b and c"; past `maxListed`, "a, b, …, h and 3 more".
    static func list(_ items: [String]) -> String {
        let shown = Array(items.prefix(maxListed))
        let rest = items.count - shown.count
        if rest > 0 { return shown.joined(separator: ", ") + " and \(rest) more" }
        guard shown.count > 1 else { return shown.first ?? "" }
        return shown.dropLast().joined(separator: ", ") + " and " + shown[shown.count - 1]
    }
}
