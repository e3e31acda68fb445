"""InTrain-NAS: Algorithm 1 (:mod:`.evolution`) and the search problems and pick-the-top tables
it is run on (:mod:`.problems`). The log format is :mod:`intrain.core.search_log`.
"""
