# intrain: zero-cost NAS proxy benchmark workflow. Logic lives in the `intrain` package; rules
# only call its CLI. See README.md for the DAG and config keys.
from snakemake.utils import min_version

min_version("9.20")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/benchmarks.smk"
include: "workflow/rules/scoring.smk"
include: "workflow/rules/studies.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/interop.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        f"{RESULTS}/correlations.csv",
        f"{RESULTS}/report/index.html",


# The headline numbers, as an argument list (no shell reads the results path); a failure here
# does not fail the finished run, and a run of other targets (a baseline set's artifacts alone)
# has no correlations to print.
onsuccess:
    if os.path.exists(f"{RESULTS}/correlations.csv"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "intrain",
                "headline",
                "--correlations",
                f"{RESULTS}/correlations.csv",
                "--report",
                f"{RESULTS}/report/index.html",
            ],
            check=False,
        )
