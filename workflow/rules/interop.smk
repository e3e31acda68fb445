# Peers' score files (config `imports`) as artifacts beside intrain's own, and the agreement table
# between the two implementations of each shared proxy (docs/interop.md).
# The imports and their paths: PLAN.imports, intrain.planning.targets.


rule import_scores:
    input:
        file=lambda wc: PLAN.imports[wc.name]["file"],
        groundtruth=lambda wc: f"{RESULTS}/groundtruth/{PLAN.imports[wc.name]['space']}.csv",
    output:
        f"{RESULTS}/imports/{{name}}.h5",
    log:
        f"{RESULTS}/logs/imports/{{name}}.log",
    wildcard_constraints:
        name=r"[A-Za-z0-9_\-]+",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        fmt=lambda wc: PLAN.imports[wc.name]["format"],
        space=lambda wc: PLAN.imports[wc.name]["space"],
        dataset=lambda wc: PLAN.imports[wc.name]["dataset"],
    shell:
        "intrain import --format {params.fmt:q} {input.file:q} --space {params.space:q} --dataset {params.dataset:q}"
        " --table {input.groundtruth:q} --out {output:q} > {log:q} 2>&1"


rule agreement:
    input:
        imports=targets.imported_scores(PLAN),
        scores=targets.merged_scores(PLAN),
        groundtruth=list(targets.groundtruth_tables(PLAN).values()),
    output:
        f"{RESULTS}/agreement.csv",
    log:
        f"{RESULTS}/logs/agreement.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        groundtruth=commands.groundtruth_args(PLAN),
        metric=config["correlation"]["metric"],
    shell:
        "intrain agreement {params.groundtruth:q} --metric {params.metric:q} --out {output:q}"
        " {input.imports:q} {input.scores:q} > {log:q} 2>&1"
