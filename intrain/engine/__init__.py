"""The scoring engine (torch): the fused probe pass and its reductions, the pass and collector
registries, counting, devices, input batches and the allocator. Knows no proxy family and no space.
"""
