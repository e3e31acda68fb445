"""Planning a workflow run without torch: config checks, architecture selection and shards,
shared-forward groups. The Snakemake rules call these; unit tests reach them directly.
"""
