"""InTrain-NAS: Algorithm 1 in deterministic rounds (`.evolution`), who scores a round
(`.workers`: this process, local processes, Dask, Slurm through dask-jobqueue), the search
problems and pick-the-top tables (`.problems`), the score-artifact lookup scorer
(`.lookup`, ``search.scores_from``) and the batching-regret study on a whole-space lookup
(`.regret`, ``intrain search-regret``). The log format is `intrain.core.search_log`.
"""
