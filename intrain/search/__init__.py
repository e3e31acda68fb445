"""InTrain-NAS: Algorithm 1 in deterministic rounds (`.evolution`), who scores a round
(`.workers`: this process, local processes, Dask, Slurm through dask-jobqueue), the search
problems and pick-the-top tables (`.problems`) and the score-artifact lookup scorer
(`.lookup`, ``search.scores_from``). The log format is `intrain.core.search_log`.
"""
