# Download benchmark ground truth (public URL or mirror, sha256-verified) and normalise it.


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
        mirror=mirror_arg(),
    shell:
        "intrain download {wildcards.key} --out {output} {params.mirror} > {log} 2>&1"


rule groundtruth:
    input:
        test=groundtruth_source,
        valid=lambda wc: list(valid_sources(wc).values()),
    output:
        f"{RESULTS}/groundtruth/{{space}}.csv",
    log:
        f"{RESULTS}/logs/groundtruth/{{space}}.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        valid=lambda wc: " ".join(f"--valid {shlex.quote(ds)}={shlex.quote(p)}" for ds, p in valid_sources(wc).items()),
    shell:
        "intrain groundtruth {wildcards.space} --test {input.test} {params.valid} --out {output} > {log} 2>&1"


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
        choice=select_args,
        seed=lambda wc: SPACES[wc.space]["sample_seed"],
        n_shards=lambda wc: n_shards(wc.space),
        dedup=lambda wc: "" if SPACES[wc.space]["dedup"] else "--no-dedup",
    shell:
        "intrain select --space {wildcards.space} --groundtruth {input} {params.choice} --seed {params.seed}"
        " --n-shards {params.n_shards} {params.dedup} --out {output} > {log} 2>&1"


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
        choice=lambda wc: f"--sample {set_sample(wc.set, wc.space)}",
        seed=lambda wc: SPACES[wc.space]["sample_seed"],
        n_shards=lambda wc: len(set_shard_ids(wc.set, wc.space)),
        dedup=lambda wc: "" if SPACES[wc.space]["dedup"] else "--no-dedup",
