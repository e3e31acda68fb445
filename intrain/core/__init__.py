"""The torch-free core: errors, flags, settings and records, the sealed HDF5 artifacts and search
log, safe loading, downloads, population rules and InTrain's formula on stored statistics.

Everything above builds on it; it imports nothing above itself and never torch (import contracts
in ``pyproject.toml``), so planning and analysis read artifacts without loading the engine.
"""
