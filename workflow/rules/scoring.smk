# Score shards of architectures into HDF5, then merge per (space, dataset). One `score` and one
# `merge` rule; the shared-forward, baseline-set and study variants inherit them (`use rule`).


rule score:
    input:
        f"{RESULTS}/{{space}}/selection.csv",
    output:
        f"{RESULTS}/{{space}}/{{dataset}}/shards/shard-{{shard}}.h5",
    log:
        f"{RESULTS}/logs/score/{{space}}/{{dataset}}/shard-{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/timing/score/{{space}}/{{dataset}}/shard-{{shard}}.tsv"
    conda:
        "../../envs/intrain.yaml"
    threads: config["score_threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        settings=lambda wc: commands.settings_json(PLAN.settings(wc.space)),
        device=config["device"],
        shard=lambda wc: int(wc.shard),
        datasets=lambda wc: [wc.dataset],
        outs=lambda wc, output: [output[0]],
    shell:
        "intrain score --space {wildcards.space:q} --dataset {params.datasets:q}"
        " --selection {input:q} --shard {params.shard:q} --settings {params.settings:q}"
        " --device {params.device:q} --threads {threads:q} --no-progress --out {params.outs:q} > {log:q} 2>&1"


# Datasets whose networks differ only in the classifier (intrain.planning.groups): one job
# scores a shard for all of them with one body forward per architecture, a file per dataset.
# These are the longest jobs: run them first so that the short single-dataset jobs fill the
# cores at the end instead of one long job running alone (longest-first scheduling).
use rule score as score_shared with:
    output:
        directory(f"{RESULTS}/{{space}}/groups/{{group}}/shard-{{shard}}"),
    log:
        f"{RESULTS}/logs/score/{{space}}/{{group}}/shard-{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/timing/score/{{space}}/{{group}}/shard-{{shard}}.tsv"
    priority: 1
    resources:
        mem_mb=4000,
        runtime=90,
    params:
        settings=lambda wc: commands.settings_json(PLAN.settings(wc.space)),
        device=config["device"],
        shard=lambda wc: int(wc.shard),
        datasets=lambda wc: wc.group.split("+"),
        outs=lambda wc, output: [f"{output[0]}/{d}.h5" for d in wc.group.split("+")],


# Baseline proxy sets: the same jobs, one artifact family per set (config `baselines.sets`). A set
# with its own `sample` scores a seeded sub-sample of the space's selection (rule select_set).
use rule score as score_set with:
    input:
        lambda wc: targets.set_selection(PLAN, wc.set, wc.space),
    output:
        f"{RESULTS}/{{space}}/{{dataset}}/sets/{{set}}/shard-{{shard}}.h5",
    log:
        f"{RESULTS}/logs/score/{{space}}/{{dataset}}/set-{{set}}-shard-{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/timing/score/{{space}}/{{dataset}}/set-{{set}}-shard-{{shard}}.tsv"
    resources:
        mem_mb=6000,
        runtime=120,
    params:
        settings=lambda wc: commands.settings_json(PLAN.set_settings(wc.set, wc.space)),
        device=config["device"],
        shard=lambda wc: int(wc.shard),
        datasets=lambda wc: [wc.dataset],
        outs=lambda wc, output: [output[0]],


rule merge:
    input:
        selection=f"{RESULTS}/{{space}}/selection.csv",
        shards=lambda wc: targets.shard_inputs(PLAN, wc.space, wc.dataset),
    output:
        f"{RESULTS}/{{space}}/{{dataset}}/scores.h5",
    log:
        f"{RESULTS}/logs/merge/{{space}}/{{dataset}}.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        settings=lambda wc: commands.settings_json(PLAN.settings(wc.space)),
        files=lambda wc: targets.shard_files(PLAN, wc.space, wc.dataset),
    shell:
        "intrain merge --space {wildcards.space:q} --dataset {wildcards.dataset:q}"
        " --selection {input.selection:q} --settings {params.settings:q}"
        " --out {output:q} {params.files:q} > {log:q} 2>&1"


use rule merge as merge_set with:
    input:
        selection=lambda wc: targets.set_selection(PLAN, wc.set, wc.space),
        shards=lambda wc: targets.set_shards(PLAN, wc.set, wc.space, wc.dataset),
    output:
        f"{RESULTS}/{{space}}/{{dataset}}/set-{{set}}.h5",
    log:
        f"{RESULTS}/logs/merge/{{space}}/{{dataset}}-set-{{set}}.log",
    params:
        settings=lambda wc: commands.settings_json(PLAN.set_settings(wc.set, wc.space)),
        files=lambda wc, input: list(input.shards),
