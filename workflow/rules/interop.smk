# Peers' score files (config `imports`) as artifacts beside intrain's own, and the agreement table
# between the two implementations of each shared proxy (docs/interop.md).

IMPORTS = {entry["name"]: entry for entry in config["imports"]}
if len(IMPORTS) != len(config["imports"]):
    raise ValueError("imports: every entry needs its own `name`")
for _name, _entry in IMPORTS.items():
    if _entry["space"] not in SPACES or _entry["dataset"] not in SPACES[_entry["space"]]["datasets"]:
        raise ValueError(f"imports.{_name}: {_entry['space']}/{_entry['dataset']} is not an enabled space and dataset "
                         "(its ground truth and intrain's own scores come from `spaces`)")


def imported_scores():
    """Artifacts of the configured imports (correlated and reported beside the merged ones)."""
    return [f"{RESULTS}/imports/{name}.h5" for name in IMPORTS]


def agreement_tables():
    """The agreement CSV the report includes (name -> path); empty without imports."""
    return {"agreement": f"{RESULTS}/agreement.csv"} if IMPORTS else {}


rule import_scores:
    input:
        file=lambda wc: IMPORTS[wc.name]["file"],
        groundtruth=lambda wc: f"{RESULTS}/groundtruth/{IMPORTS[wc.name]['space']}.csv",
    output:
        f"{RESULTS}/imports/{{name}}.h5",
    params:
        fmt=lambda wc: IMPORTS[wc.name]["format"],
        space=lambda wc: IMPORTS[wc.name]["space"],
        dataset=lambda wc: shlex.quote(IMPORTS[wc.name]["dataset"]),
    wildcard_constraints:
        name=r"[A-Za-z0-9_\-]+",
    log:
        f"{RESULTS}/logs/imports/{{name}}.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
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
    params:
        groundtruth=groundtruth_args,
        metric=config["correlation"]["metric"],
    log:
        f"{RESULTS}/logs/agreement.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    shell:
        "intrain agreement {params.groundtruth} --metric {params.metric} --out {output}"
        " {input.imports} {input.scores} > {log} 2>&1"
