# Peers' score files (config `imports`) as artifacts beside intrain's own, and the agreement table
# between the two implementations of each shared proxy (docs/interop.md).
# Helpers (IMPORTS, imported_scores, agreement_tables) live in common.smk.


rule import_scores:
    input:
        file=lambda wc: IMPORTS[wc.name]["file"],
        groundtruth=lambda wc: f"{RESULTS}/groundtruth/{IMPORTS[wc.name]['space']}.csv",
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
        fmt=lambda wc: IMPORTS[wc.name]["format"],
        space=lambda wc: IMPORTS[wc.name]["space"],
        dataset=lambda wc: shlex.quote(IMPORTS[wc.name]["dataset"]),
    shell:
        "intrain import --format {params.fmt} {input.file:q} --space {params.space} --dataset {params.dataset}"
        " --table {input.groundtruth} --out {output} > {log} 2>&1"


rule agreement:
    input:
        imports=imported_scores(),
        scores=merged_scores(),
        groundtruth=list(groundtruth_tables().values()),
    output:
        f"{RESULTS}/agreement.csv",
    log:
        f"{RESULTS}/logs/agreement.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        groundtruth=groundtruth_args,
        metric=config["correlation"]["metric"],
    shell:
        "intrain agreement {params.groundtruth} --metric {params.metric} --out {output}"
        " {input.imports} {input.scores} > {log} 2>&1"
