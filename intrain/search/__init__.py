"""InTrain-NAS: Algorithm 1 in deterministic rounds (:mod:`.evolution`), who scores a round
(:mod:`.workers`: this process, local processes, Dask, Slurm through dask-jobqueue), the search
problems and pick-the-top tables (:mod:`.problems`) and the score-artifact lookup scorer
(:mod:`.lookup`, ``search.scores_from``). The log format is :mod:`intrain.core.search_log`.
"""
