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
    params:
        groundtruth=groundtruth_args,
        n_boot=config["correlation"]["n_boot"],
        metric=config["correlation"]["metric"],
    log:
        f"{RESULTS}/logs/correlate.log",
    # the bootstrap of a whole space takes a minute on one core; snakemake caps this at --cores
    threads: 4
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    shell:
        "intrain correlate {params.groundtruth} --n-boot {params.n_boot}"
        " --metric {params.metric} --workers {threads} --out {output} {input.scores} > {log} 2>&1"


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
    params:
        groundtruth=groundtruth_args,
        studies=study_args,
        config=lambda wc: shlex.quote(json.dumps(config, sort_keys=True)),
    log:
        f"{RESULTS}/logs/report.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    shell:
        "intrain report --correlations {input.correlations} {params.groundtruth}"
        " {params.studies} --config-json {params.config} --out {output} {input.scores} > {log} 2>&1"
