"""Planning a workflow run without torch: config checks, architecture selection and shards,
shared-forward groups, and the plan of a run (its jobs' settings, paths and CLI arguments).
The Snakemake rules call these; unit tests reach them directly (tests/test_planning.py).

- :mod:`.configcheck`: each config value against the schema, in words;
- :mod:`.checks`: what values mean together (enabled spaces, datasets, imports, ``studies.space``);
- :mod:`.plan`: :class:`~.plan.Plan`, the run's spaces, sample sizes, shards, groups and settings;
- :mod:`.sets`: baseline proxy sets; :mod:`.targets`: the run's file paths;
- :mod:`.commands`: the CLI's argument lists; :mod:`.environment`: the jobs' environment;
- :mod:`.selection`: the architectures of a shard; :mod:`.groups`: datasets sharing a forward.
"""
