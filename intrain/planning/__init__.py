"""Planning a workflow run without torch: config checks, architecture selection and shards,
shared-forward groups, and the plan of a run (its jobs' settings, paths and CLI arguments).
The Snakemake rules call these; unit tests reach them directly (tests/test_planning.py).

- `.configcheck`: each config value against the schema, in words;
- `.checks`: what values mean together (enabled spaces, datasets, imports, ``studies.space``);
- `.plan`: `Plan`, the run's spaces, sample sizes, shards, groups and settings;
- `.sets`: baseline proxy sets; `.targets`: the run's file paths;
- `.commands`: the CLI's argument lists; `.environment`: the jobs' environment;
- `.selection`: the architectures of a shard; `.groups`: datasets sharing a forward.
"""
