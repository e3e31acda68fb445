# InTrain-NAS search: the NB201 pick-the-top table from stored scores, Algorithm 1 on NB201, and
# Algorithm 1 on the Zen-NAS ImageNet space (intrain.spaces.zennas) per FLOPs budget. Each search's HDF5 log is deliberately
# not a declared output: a killed or extended search (larger `search.iterations`) resumes from it.
# `search.batch` children per round are scored by `search.workers` (local processes, Dask, Slurm via
# dask-jobqueue); the history depends on the batch and the seed only.


rule search_zennas:
    output:
        best=f"{RESULTS}/search/zennas/b{{budget}}/best.json",
        plot=f"{RESULTS}/search/zennas/b{{budget}}/trajectory.png",
    log:
        f"{RESULTS}/logs/search/zennas-b{{budget}}.log",
    conda:
        "../../envs/intrain.yaml"
    threads: config["score_threads"]
    resources:
        mem_mb=4000,
        runtime=240,
    params:
        settings=commands.settings_json(PLAN.search_settings(resolution=SEARCH["resolution"])),
        log=lambda wc: f"{RESULTS}/search/zennas/b{wc.budget}/log.h5",
        out_dir=lambda wc: f"{RESULTS}/search/zennas/b{wc.budget}",
        device=config["device"],
        iterations=SEARCH["iterations"],  # a param, so a longer T reruns the job (which resumes)
        search=commands.search_args(PLAN),
    shell:
        "OMP_NUM_THREADS={threads:q} intrain evolve --space zennas --dataset imagenet --budget {wildcards.budget:q}"
        " --iterations {params.iterations:q} {params.search:q}"
        " --settings {params.settings:q} --device {params.device:q} --log {params.log:q}"
        " --no-progress --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule search_nb201:
    input:
        groundtruth=f"{RESULTS}/groundtruth/nb201.csv",
        scores_from=[SEARCH["scores_from"]] if SEARCH.get("scores_from") else [],  # a lookup (search.scores_from)
    output:
        best=f"{RESULTS}/search/nb201/best.json",
        plot=f"{RESULTS}/search/nb201/trajectory.png",
    log:
        f"{RESULTS}/logs/search/nb201.log",
    conda:
        "../../envs/intrain.yaml"
    threads: config["score_threads"]
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        settings=commands.settings_json(PLAN.search_settings()),
        device=config["device"],
        iterations=SEARCH["nb201_iterations"],
        search=commands.search_args(PLAN) + commands.lookup_args(PLAN),
        dataset=SEARCH["nb201_dataset"],
        out_dir=lambda wc, output: os.path.dirname(output.best),
        log=lambda wc, output: os.path.join(os.path.dirname(output.best), "log.h5"),
    shell:
        "OMP_NUM_THREADS={threads:q} intrain evolve --space nb201 --dataset {params.dataset:q}"
        " --iterations {params.iterations:q} {params.search:q}"
        " --settings {params.settings:q} --device {params.device:q} --log {params.log:q}"
        " --groundtruth {input.groundtruth:q} --no-progress --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule search_summary_zennas:
    input:
        [f"{RESULTS}/search/zennas/b{b:.0f}/best.json" for b in SEARCH["budgets"]],
    output:
        f"{RESULTS}/search/zennas.csv",
    log:
        f"{RESULTS}/logs/search/summary-zennas.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    shell:
        "intrain search-summary {input:q} --out {output:q} > {log:q} 2>&1"


rule search_summary_nb201:
    input:
        f"{RESULTS}/search/nb201/best.json",
    output:
        f"{RESULTS}/search/nb201.csv",
    log:
        f"{RESULTS}/logs/search/summary-nb201.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    shell:
        "intrain search-summary {input:q} --out {output:q} > {log:q} 2>&1"


rule search_picks:
    input:
        scores=targets.merged_scores(PLAN, only="nb201"),
        groundtruth=f"{RESULTS}/groundtruth/nb201.csv",
    output:
        f"{RESULTS}/search/nb201_picks.csv",
    log:
        f"{RESULTS}/logs/search/picks.log",
    localrule: True
    conda:
        "../../envs/intrain.yaml"
    params:
        n=SEARCH["pick_n"],
        seeds=[str(s) for s in SEARCH["pick_seeds"]],
    shell:
        "intrain search-table {input.scores:q} --groundtruth {input.groundtruth:q} --n {params.n:q}"
        " --seeds {params.seeds:q} --out {output:q} > {log:q} 2>&1"
