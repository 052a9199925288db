// What the control plane recorded about a train job with `requireDecontaminated: true` (issue 21,
// docs/dedup.md "Admission check"), for `DecontaminationRule`: which eval files each training dataset's tokenize
// job decontaminated against, and which files each declared eval was made from. Read from PostgreSQL every pass
// (`DecontaminationSQL`), so the rule sees a dataset as soon as it is recorded.

public struct DecontaminationFacts: Hashable, Sendable, Codable {
    /// A `data` entry (by name: the validator refuses `path` entries under `requireDecontaminated`).
    public struct TrainingDataset: Hashable, Sendable, Codable {
        public var name: String
        /// The eval files the dataset's tokenize job decontaminated against (`decontaminate.evals`, expanded by its
        /// planner). Empty: made without `decontaminate`; nil: no dataset of that name is registered.
        public var decontaminatedAgainst: [String]?

        public init(name: String, decontaminatedAgainst: [String]?) {
            self.name = name
            self.decontaminatedAgainst = decontaminatedAgainst
        }
    }

    /// One input file of an eval dataset as its tokenize tasks recorded it (`dataset_inputs`): the path the
    /// manifest named, and where it was read (the same path for a file on the control plane's filesystem, a
    /// `cp://blobs/…` location for one `opsctl apply` uploaded).
    public struct SourceFile: Hashable, Sendable, Codable {
        public var name: String
        public var location: String

        public init(name: String, location: String) {
            self.name = name
            self.location = location
        }
    }

    /// One entry of the job's `evals`.
    public enum DeclaredEval: Hashable, Sendable, Codable {
        /// `{dataset: NAME}` and the files it was tokenized from; nil when no dataset of that name is registered
        /// or none of its files are recorded yet.
        case dataset(name: String, sourceFiles: [SourceFile]?)
        /// `{path: DIR}`: a dataset directory; the control plane does not know what text it was made from.
        case path(String)
    }

    public var trainingDatasets: [TrainingDataset]
    public var evals: [DeclaredEval]

    public init(trainingDatasets: [TrainingDataset], evals: [DeclaredEval]) {
        self.trainingDatasets = trainingDatasets
        self.evals = evals
    }
}

/// A training dataset and the declared evals it was not decontaminated against.
public struct DecontaminationGap: Hashable, Sendable, Codable {
    public var dataset: String
    /// As in `DecontaminationFacts.TrainingDataset`: nil when the dataset is not registered.
    public var decontaminatedAgainst: [String]?
    public var uncovered: [DecontaminationFacts.DeclaredEval]

    public init(dataset: String, decontaminatedAgainst: [String]?, uncovered: [DecontaminationFacts.DeclaredEval]) {
        self.dataset = dataset
        self.decontaminatedAgainst = decontaminatedAgainst
        self.uncovered = uncovered
    }
}
