// Which jobs read a dataset, for the dashboard's dataset page (docs/dashboard.md).

extension JobSQL {
    /// Jobs whose manifest reads the dataset named $1, newest first, at most $2: a `dataset:` reference anywhere in
    /// the stored manifest (`jobs.spec`: train and eval data, eval sets, a tokenizer taken from a dataset, a
    /// stream's inputs) except the job's own output (`spec.<type>.output`: the kind's settings sit under its name, and
    /// a tokenize or stream job's output is what it makes).
    /// Read from the manifests, not recorded at submission, so jobs submitted before this existed are found too;
    /// a sequential read of `jobs` (no index on the manifest), which the one page that asks can afford.
    static let readersOfDataset = """
        SELECT j.name, j.state FROM jobs j
        WHERE jsonb_path_exists(j.spec #- ARRAY['spec', j.type, 'output'], 'strict $.**.dataset ? (@ == $name)',
                                jsonb_build_object('name', $1::text))
        ORDER BY j.id DESC LIMIT $2
        """
}
