# Download benchmark ground truth (public URL or mirror, sha256-verified) and normalise it.
# Every substitution into a shell command is quoted with `:q` (lists: each element), so no
# config value is read as shell syntax (tests/test_workflow_quoting.py).


rule download:
    output:
        f"{RESULTS}/benchmarks/{{key}}.{{ext}}",
    log:
        f"{RESULTS}/logs/download/{{key}}.{{ext}}.log",
    retries: 2
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        mirror=commands.mirror_args(config),
    shell:
        "intrain download {wildcards.key:q} --out {output:q} {params.mirror:q} > {log:q} 2>&1"


rule groundtruth:
    input:
        test=lambda wc: targets.groundtruth_source(PLAN, wc.space),
        valid=lambda wc: list(targets.valid_sources(PLAN, wc.space).values()),
    output:
        f"{RESULTS}/groundtruth/{{space}}.csv",
    log:
        f"{RESULTS}/logs/groundtruth/{{space}}.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        valid=lambda wc: commands.valid_args(PLAN, wc.space),
    shell:
        "intrain groundtruth {wildcards.space:q} --test {input.test:q} {params.valid:q} --out {output:q} > {log:q} 2>&1"


rule select:
    input:
        f"{RESULTS}/groundtruth/{{space}}.csv",
    output:
        f"{RESULTS}/{{space}}/selection.csv",
    log:
        f"{RESULTS}/logs/select/{{space}}.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        choice=lambda wc: commands.select_args(PLAN, wc.space),
        seed=lambda wc: SPACES[wc.space]["sample_seed"],
        n_shards=lambda wc: len(PLAN.shard_ids(wc.space)),
        dedup=lambda wc: [] if SPACES[wc.space]["dedup"] else ["--no-dedup"],
    shell:
        "intrain select --space {wildcards.space:q} --groundtruth {input:q} {params.choice:q} --seed {params.seed:q}"
        " --n-shards {params.n_shards:q} {params.dedup:q} --out {output:q} > {log:q} 2>&1"


# A baseline set's own seeded sub-sample of the space's selection (`baselines.sets.<name>.sample`):
# the selection is read as the table to sample from, so the sub-sample is always a subset of it.
use rule select as select_set with:
    input:
        f"{RESULTS}/{{space}}/selection.csv",
    output:
        f"{RESULTS}/{{space}}/sets/{{set}}/selection.csv",
    log:
        f"{RESULTS}/logs/select/{{space}}-set-{{set}}.log",
    params:
        choice=lambda wc: ["--sample", str(PLAN.set_sample(wc.set, wc.space))],
        seed=lambda wc: SPACES[wc.space]["sample_seed"],
        n_shards=lambda wc: len(PLAN.set_shard_ids(wc.set, wc.space)),
        dedup=lambda wc: [] if SPACES[wc.space]["dedup"] else ["--no-dedup"],
