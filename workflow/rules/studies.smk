# The paper's studies. Ablation, top-k and dataset stability reuse the main run's artifacts;
# the batch-size and seed studies score a small sub-sample of `studies.space` under other settings.


rule study_select:
    input:
        f"{RESULTS}/groundtruth/{{space}}.csv",
    output:
        f"{RESULTS}/studies/{{space}}/selection.csv",
    log:
        f"{RESULTS}/logs/studies/{{space}}/select.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        sample=STUDIES["sample"],
        seed=STUDIES["sample_seed"],
    shell:
        "intrain select --groundtruth {input:q} --sample {params.sample:q} --seed {params.seed:q}"
        " --n-shards 1 --out {output:q} > {log:q} 2>&1"


use rule score as study_score with:
    input:
        f"{RESULTS}/studies/{{space}}/selection.csv",
    output:
        f"{RESULTS}/studies/{{space}}/{{dataset}}/shards/b{{bs}}_s{{seed}}.h5",
    log:
        f"{RESULTS}/logs/studies/{{space}}/{{dataset}}/b{{bs}}_s{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/timing/studies/{{space}}/{{dataset}}/b{{bs}}_s{{seed}}.tsv"
    params:
        settings=lambda wc: commands.settings_json(PLAN.study_settings(int(wc.bs), int(wc.seed))),
        device=config["device"],
        shard=0,
        datasets=lambda wc: [wc.dataset],
        outs=lambda wc, output: [output[0]],


use rule merge as study_merge with:
    input:
        selection=f"{RESULTS}/studies/{{space}}/selection.csv",
        shard=f"{RESULTS}/studies/{{space}}/{{dataset}}/shards/b{{bs}}_s{{seed}}.h5",
    output:
        f"{RESULTS}/studies/{{space}}/{{dataset}}/b{{bs}}_s{{seed}}.h5",
    log:
        f"{RESULTS}/logs/studies/{{space}}/{{dataset}}/merge_b{{bs}}_s{{seed}}.log",
    params:
        settings=lambda wc: commands.settings_json(PLAN.study_settings(int(wc.bs), int(wc.seed))),
        files=lambda wc, input: [input.shard],


rule ablation:
    input:
        scores=targets.merged_scores(PLAN),
        groundtruth=list(targets.groundtruth_tables(PLAN).values()),
    output:
        report(f"{RESULTS}/studies/ablation.csv", caption="../report/ablation.rst", category="Studies"),
    log:
        f"{RESULTS}/logs/studies/ablation.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        groundtruth=commands.groundtruth_args(PLAN),
    shell:
        "intrain study ablation {input.scores:q} {params.groundtruth:q} --out {output:q} > {log:q} 2>&1"


rule topk:
    input:
        scores=targets.merged_scores(PLAN),
        groundtruth=list(targets.groundtruth_tables(PLAN).values()),
    output:
        report(f"{RESULTS}/studies/topk.csv", caption="../report/topk.rst", category="Studies"),
    log:
        f"{RESULTS}/logs/studies/topk.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        groundtruth=commands.groundtruth_args(PLAN),
    shell:
        "intrain study topk {input.scores:q} {params.groundtruth:q} --out {output:q} > {log:q} 2>&1"


rule stability:
    input:
        f"{RESULTS}/correlations.csv",
    output:
        report(f"{RESULTS}/studies/stability.csv", caption="../report/stability.rst", category="Studies"),
    log:
        f"{RESULTS}/logs/studies/stability.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    shell:
        "intrain study stability --correlations {input:q} --out {output:q} > {log:q} 2>&1"


rule batch_size_study:
    input:
        runs=targets.batch_study_runs(PLAN),
        groundtruth=targets.study_groundtruth(PLAN),
    output:
        report(f"{RESULTS}/studies/batch_size.csv", caption="../report/batch_size.rst", category="Studies"),
    log:
        f"{RESULTS}/logs/studies/batch_size.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    shell:
        "intrain study batch-size {input.runs:q} --groundtruth {input.groundtruth:q} --out {output:q} > {log:q} 2>&1"


rule seed_study:
    input:
        runs=targets.seed_study_runs(PLAN),
        groundtruth=targets.study_groundtruth(PLAN),
    output:
        report(f"{RESULTS}/studies/seeds.csv", caption="../report/seeds.rst", category="Studies"),
    log:
        f"{RESULTS}/logs/studies/seeds.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    shell:
        "intrain study seeds {input.runs:q} --groundtruth {input.groundtruth:q} --out {output:q} > {log:q} 2>&1"
