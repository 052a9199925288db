// Statements of the decontamination admission check (issue 21, docs/dedup.md "Admission check"), read in every
// scheduling pass for the train jobs of its snapshot (at most `SchedulingPassLimits.jobs`); nothing is written.

enum DecontaminationSQL {
    /// Of jobs $1, those whose task spec says `requireDecontaminated: true`: their training data and declared evals
    /// (JSON arrays), from task 0 (the planner's resolved settings, the same in every task).
    static let requirements = """
        SELECT t.job_id, coalesce(t.spec -> 'data', '[]'::jsonb)::text AS data,
               coalesce(t.spec -> 'evals', '[]'::jsonb)::text AS evals
        FROM tasks t
        WHERE t.job_id = ANY($1::bigint[]) AND t.task_index = 0 AND t.spec @> '{"requireDecontaminated": true}'
        ORDER BY t.job_id
        """

    /// Datasets named in $1: the eval files the tokenize job that made each decontaminated against (its task 0's
    /// `decontamination.evalFiles`; `[]` without decontaminate, or when no job of ours made it) and at most
    /// `maxSourceFiles` + 1 of the input files its shards recorded, each once. A name not registered has no row.
    static let facts = """
        SELECT d.name,
               coalesce((SELECT t.spec -> 'decontamination' -> 'evalFiles' FROM tasks t
                         WHERE t.job_id = d.job_id AND t.task_index = 0), '[]'::jsonb)::text AS eval_files,
               coalesce((SELECT jsonb_agg(jsonb_build_object('name', i.name, 'location', i.location)
                                          ORDER BY i.name, i.location)
                         FROM (SELECT DISTINCT x.name, x.location FROM dataset_inputs x WHERE x.dataset_id = d.id
                               ORDER BY x.name, x.location LIMIT \(maxSourceFiles + 1)) i), '[]'::jsonb)::text AS inputs
        FROM datasets d WHERE d.name = ANY($1::text[])
        ORDER BY d.name
        """

    /// A tokenize job decontaminates against at most 64 eval files (`NearDedupJobKinds.maxEvalFiles`), so an eval
    /// dataset made from more files can never be covered; reading one more than that is enough to know.
    static let maxSourceFiles = 64
}
