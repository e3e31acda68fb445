# Correlations of every proxy with ground truth, and the report page.


rule correlate:
    input:
        scores=targets.merged_scores(PLAN) + targets.imported_scores(PLAN),
        groundtruth=list(targets.groundtruth_tables(PLAN).values()),
    output:
        report(
            f"{RESULTS}/correlations.csv",
            caption="../report/correlations.rst",
            category="Correlations",
        ),
    log:
        f"{RESULTS}/logs/correlate.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    # the bootstrap of a whole space takes a minute on one core; snakemake caps this at --cores
    threads: 4
    params:
        groundtruth=commands.groundtruth_args(PLAN),
        n_boot=config["correlation"]["n_boot"],
        metric=config["correlation"]["metric"],
    shell:
        "intrain correlate {params.groundtruth:q} --n-boot {params.n_boot:q}"
        " --metric {params.metric:q} --workers {threads:q} --out {output:q} {input.scores:q} > {log:q} 2>&1"


# Uniform vs reference (and other variants) vs published, with paired CIs (docs/protocols.md).
rule protocol_table:
    input:
        scores=targets.merged_scores(PLAN),
        groundtruth=list(targets.groundtruth_tables(PLAN).values()),
    output:
        csv=f"{RESULTS}/protocols.csv",
        markdown=f"{RESULTS}/protocols.md",
    log:
        f"{RESULTS}/logs/protocol_table.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        groundtruth=commands.groundtruth_args(PLAN),
        n_boot=config["correlation"]["n_boot"],
        metric=config["correlation"]["metric"],
    shell:
        "intrain protocol-table {params.groundtruth:q} --n-boot {params.n_boot:q} --metric {params.metric:q}"
        " --out {output.csv:q} --markdown {output.markdown:q} {input.scores:q} > {log:q} 2>&1"


# What batching costs (docs/implementation.md): with a lookup of the whole NB201 space
# (search.scores_from), the regret of InTrain-NAS against T for b in {1, 4, 16, 64}, 50 paired seeds,
# beside random search and the proxy ceiling; the report's "Search: what batching costs" section.
REGRET = (
    {"search_regret": f"{RESULTS}/search/nb201_regret.csv"}
    if SEARCH["enabled"] and SEARCH.get("scores_from") and "nb201" in PLAN.spaces
    else {}
)

if REGRET:

    rule search_regret:
        input:
            scores=SEARCH["scores_from"],
            groundtruth=f"{RESULTS}/groundtruth/nb201.csv",
        output:
            csv=REGRET["search_regret"],
            runs=f"{RESULTS}/search/nb201_regret.runs.csv",
        log:
            f"{RESULTS}/logs/search/regret.log",
        localrule: True
        conda:
            "../../envs/intrain.yaml"
        params:
            dataset=SEARCH["nb201_dataset"],
            proxy=SEARCH["proxy"],
            k=SEARCH["k"],
            t_max=SEARCH["nb201_iterations"],
        shell:
            "OMP_NUM_THREADS=1 intrain search-regret --scores {input.scores:q} --groundtruth {input.groundtruth:q}"
            " --dataset {params.dataset:q} --proxy {params.proxy:q} --k {params.k:q} --t-max {params.t_max:q}"
            " --runs {output.runs:q} --out {output.csv:q} > {log:q} 2>&1"


rule report:
    input:
        unpack(lambda wc: targets.study_tables(PLAN) | REGRET),
        correlations=f"{RESULTS}/correlations.csv",
        scores=targets.merged_scores(PLAN) + targets.imported_scores(PLAN),
        groundtruth=list(targets.groundtruth_tables(PLAN).values()),
    output:
        report(
            f"{RESULTS}/report/index.html",
            caption="../report/report.rst",
            category="Report",
        ),
    log:
        f"{RESULTS}/logs/report.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        groundtruth=commands.groundtruth_args(PLAN),
        studies=lambda wc, input: commands.study_args(targets.study_tables(PLAN) | REGRET, input),
        config=lambda wc: json.dumps(config, sort_keys=True),
    shell:
        "intrain report --correlations {input.correlations:q} {params.groundtruth:q}"
        " {params.studies:q} --config-json {params.config:q} --out {output:q} {input.scores:q} > {log:q} 2>&1"
