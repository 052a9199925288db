// Feeds the scheduler's `DecontaminationRule` (issue 21, docs/dedup.md "Admission check"): for each train job of the
// snapshot with `requireDecontaminated: true`, what PostgreSQL records about its training datasets and declared
// evals. Two statements per pass, and none when no train job is pending.

import APITypes
import Foundation
import Postgres
import Scheduler

enum DecontaminationFactsReader {
    /// Sets `PendingJob.decontamination` on the train jobs among `jobs` (by `kinds`) that require it.
    static func add(_ c: PostgresConnection, to jobs: inout [Int64: PendingJob], kinds: [Int64: String]) throws {
        let trainJobs = kinds.filter { $0.value == TrainJobKinds.trainName }.map(\.key).sorted()
        guard !trainJobs.isEmpty else { return }
        var requirements: [(job: Int64, data: [TrainDataSource], evals: [CheckpointEvalSource])] = []
        for row in try c.query(DecontaminationSQL.requirements, [.intArray(trainJobs)]) {
            requirements.append(
                (
                    try row.int64("job_id"), try decode([TrainDataSource].self, row, "data"),
                    try decode([CheckpointEvalSource].self, row, "evals")
                ))
        }
        guard !requirements.isEmpty else { return }
        let names = Set(requirements.flatMap { $0.data.compactMap(\.dataset) + $0.evals.compactMap(\.dataset) })
        var recorded: [String: (evalFiles: [String], inputs: [DecontaminationFacts.SourceFile])] = [:]
        for row in try c.query(DecontaminationSQL.facts, [.textArray(names.sorted())]) {
            recorded[try row.string("name")] = (
                try decode([String].self, row, "eval_files"),
                try decode([DecontaminationFacts.SourceFile].self, row, "inputs")
            )
        }
        for requirement in requirements {
            // A `path` entry cannot pass the validator under requireDecontaminated; were one stored, it is held as
            // a dataset nobody registered rather than let through.
            let training = requirement.data.map { source in
                DecontaminationFacts.TrainingDataset(
                    name: source.displayName, decontaminatedAgainst: source.dataset.flatMap { recorded[$0]?.evalFiles })
            }
            let evals = requirement.evals.map { eval -> DecontaminationFacts.DeclaredEval in
                guard let name = eval.dataset else { return .path(eval.path ?? eval.location ?? "") }
                let inputs = recorded[name]?.inputs ?? []
                return .dataset(name: name, sourceFiles: inputs.isEmpty ? nil : inputs)
            }
            jobs[requirement.job]?.decontamination = DecontaminationFacts(trainingDatasets: training, evals: evals)
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ row: PostgresRow, _ column: String) throws -> T {
        let text = try row.string(column)
        do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
            throw PostgresError.decoding(column: column, expected: "JSON of \(T.self)", found: String(text.prefix(200)))
        }
    }
}
