// `spec.train.requireDecontaminated: true` (issue 21, docs/dedup.md "Admission check"): the job is held pending
// until each training dataset was made by a tokenize job whose `decontaminate` covered every eval the job
// declares (`evals`). What the manifest alone can be checked for is here; the check itself is the scheduler's
// `DecontaminationRule`, fed by what the control plane recorded about the datasets.

extension TrainJobKinds {
    static let requireDecontaminatedKey = "requireDecontaminated"

    /// A non-boolean is reported by `bool`; `true` needs evals to check against and training data by name.
    static func validateDecontaminationRequirement(_ settings: ManifestObjectReader) {
        guard settings.bool(requireDecontaminatedKey) == true else { return }
        var declaresEvals = false
        if let evals = settings.value("evals"), case .array(let items) = evals.content {
            declaresEvals = !items.isEmpty
        }
        if !declaresEvals {
            settings.report(
                requireDecontaminatedKey,
                "requireDecontaminated checks the training data against the evals this job declares, and it declares none: add evals: [{dataset: NAME, batches: 8}] with evalEvery: checkpoint, or remove requireDecontaminated"
            )
        }
        guard let data = settings.value("data"), case .array(let items) = data.content else { return }
        for (offset, item) in items.enumerated() {
            guard case .object(let fields) = item.content, fields.contains(where: { $0.key == "path" }) else {
                continue
            }
            ManifestObjectReader(item, path: "\(settings.fieldPath("data"))[\(offset)]", problems: settings.problems)
                .report(
                    "path",
                    "requireDecontaminated checks how each training dataset was made, which the control plane knows only for a dataset by name: give {dataset: NAME} (registered by a tokenize job with decontaminate), or remove requireDecontaminated"
                )
        }
    }
}
