# The paper's studies. Ablation, top-k and dataset stability reuse the main run's artifacts;
# the batch-size and seed studies score a small sub-sample under other settings.


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
        "intrain select --groundtruth {input} --sample {params.sample} --seed {params.seed}"
        " --n-shards 1 --out {output} > {log} 2>&1"


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
        settings=lambda wc: study_settings_json(int(wc.bs), int(wc.seed)),
        device=config["device"],
        shard=0,
        datasets=lambda wc: shlex.quote(wc.dataset),
        outs=lambda wc, output: shlex.quote(output[0]),


use rule merge as study_merge with:
    input:
        selection=f"{RESULTS}/studies/{{space}}/selection.csv",
        shard=f"{RESULTS}/studies/{{space}}/{{dataset}}/shards/b{{bs}}_s{{seed}}.h5",
    output:
        f"{RESULTS}/studies/{{space}}/{{dataset}}/b{{bs}}_s{{seed}}.h5",
    log:
        f"{RESULTS}/logs/studies/{{space}}/{{dataset}}/merge_b{{bs}}_s{{seed}}.log",
    params:
        settings=lambda wc: study_settings_json(int(wc.bs), int(wc.seed)),
        files=lambda wc, input: shlex.quote(input.shard),


rule ablation:
    input:
        scores=merged_scores(),
        groundtruth=list(groundtruth_tables().values()),
    output:
        report(f"{RESULTS}/studies/ablation.csv", caption="../report/ablation.rst", category="Studies"),
    log:
        f"{RESULTS}/logs/studies/ablation.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        groundtruth=groundtruth_args,
    shell:
        "intrain study ablation {input.scores} {params.groundtruth} --out {output} > {log} 2>&1"


rule topk:
    input:
        scores=merged_scores(),
        groundtruth=list(groundtruth_tables().values()),
    output:
        report(f"{RESULTS}/studies/topk.csv", caption="../report/topk.rst", category="Studies"),
    log:
        f"{RESULTS}/logs/studies/topk.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        groundtruth=groundtruth_args,
    shell:
        "intrain study topk {input.scores} {params.groundtruth} --out {output} > {log} 2>&1"


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
        "intrain study stability --correlations {input} --out {output} > {log} 2>&1"


rule batch_size_study:
    input:
        runs=batch_study_runs(),
        groundtruth=f"{RESULTS}/groundtruth/{STUDY_SPACE}.csv",
    output:
        report(f"{RESULTS}/studies/batch_size.csv", caption="../report/batch_size.rst", category="Studies"),
    log:
        f"{RESULTS}/logs/studies/batch_size.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    shell:
        "intrain study batch-size {input.runs} --groundtruth {input.groundtruth} --out {output} > {log} 2>&1"


rule seed_study:
    input:
        runs=seed_study_runs(),
        groundtruth=f"{RESULTS}/groundtruth/{STUDY_SPACE}.csv",
    output:
        report(f"{RESULTS}/studies/seeds.csv", caption="../report/seeds.rst", category="Studies"),
    log:
        f"{RESULTS}/logs/studies/seeds.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    shell:
        "intrain study seeds {input.runs} --groundtruth {input.groundtruth} --out {output} > {log} 2>&1"
