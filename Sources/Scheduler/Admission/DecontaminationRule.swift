// The admission check of `requireDecontaminated` (issue 21, docs/dedup.md "Admission check"): a train job is held
// pending until every training dataset covers every eval the job declares. "Covers", with only what the control
// plane records (exact path comparisons, nothing read from disk):
//   - `{dataset: E}`: every file E was tokenized from (by the path its manifest named, or where it was read) is one
//     of the training dataset's decontamination eval files. A registered E with no recorded files covers nothing:
//     there is nothing to compare.
//   - `{path: DIR}`: one of the eval files is DIR itself or lies under DIR/ (the eval's text kept beside its
//     tokens); the control plane cannot know what text a bare directory was tokenized from.
// Pure and table-tested (`DecontaminationRuleTests`); the pass settles a held job before fair share, so it never
// reserves, preempts or counts as demand for a worker pool.

public enum DecontaminationRule {
    /// Whether eval files `evalFiles` (a training dataset's `decontaminate`, expanded) cover `eval`.
    public static func covers(_ evalFiles: Set<String>, _ eval: DecontaminationFacts.DeclaredEval) -> Bool {
        switch eval {
        case .dataset(_, let sourceFiles):
            guard let sourceFiles, !sourceFiles.isEmpty else { return false }
            return sourceFiles.allSatisfy { evalFiles.contains($0.name) || evalFiles.contains($0.location) }
        case .path(let directory):
            let prefix = directory.hasSuffix("/") ? directory : directory + "/"
            return evalFiles.contains { $0 == directory || $0.hasPrefix(prefix) }
        }
    }

    /// Each training dataset that misses some declared eval, with the evals it misses, in the job's order.
    public static func gaps(_ facts: DecontaminationFacts) -> [DecontaminationGap] {
        facts.trainingDatasets.compactMap { dataset in
            let files = Set(dataset.decontaminatedAgainst ?? [])
            let uncovered =
                dataset.decontaminatedAgainst == nil ? facts.evals : facts.evals.filter { !covers(files, $0) }
            guard !uncovered.isEmpty else { return nil }
            return DecontaminationGap(
                dataset: dataset.name, decontaminatedAgainst: dataset.decontaminatedAgainst, uncovered: uncovered)
        }
    }

    /// Nil when the job may start, else why it is held.
    public static func cause(_ facts: DecontaminationFacts) -> PendingCause? {
        let gaps = gaps(facts)
        return gaps.isEmpty ? nil : .notDecontaminated(gaps)
    }
}
