# Correlations of every proxy with ground truth, and the report page.


rule correlate:
    input:
        scores=merged_scores() + imported_scores(),
        groundtruth=list(groundtruth_tables().values()),
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
        groundtruth=groundtruth_args,
        n_boot=config["correlation"]["n_boot"],
        metric=config["correlation"]["metric"],
    shell:
        "intrain correlate {params.groundtruth} --n-boot {params.n_boot}"
        " --metric {params.metric} --workers {threads} --out {output} {input.scores} > {log} 2>&1"


# Uniform vs reference (and other variants) vs published, with paired CIs (docs/protocols.md).
rule protocol_table:
    input:
        scores=merged_scores(),
        groundtruth=list(groundtruth_tables().values()),
    output:
        csv=f"{RESULTS}/protocols.csv",
        markdown=f"{RESULTS}/protocols.md",
    log:
        f"{RESULTS}/logs/protocol_table.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        groundtruth=groundtruth_args,
        n_boot=config["correlation"]["n_boot"],
        metric=config["correlation"]["metric"],
    shell:
        "intrain protocol-table {params.groundtruth} --n-boot {params.n_boot} --metric {params.metric}"
        " --out {output.csv} --markdown {output.markdown} {input.scores} > {log} 2>&1"


rule report:
    input:
        unpack(study_tables),
        correlations=f"{RESULTS}/correlations.csv",
        scores=merged_scores() + imported_scores(),
        groundtruth=list(groundtruth_tables().values()),
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
        groundtruth=groundtruth_args,
        studies=study_args,
        config=lambda wc: shlex.quote(json.dumps(config, sort_keys=True)),
    shell:
        "intrain report --correlations {input.correlations} {params.groundtruth}"
        " {params.studies} --config-json {params.config} --out {output} {input.scores} > {log} 2>&1"
