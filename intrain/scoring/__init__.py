"""Scoring a space's architectures or any model: the scorer (network build, probe, passes, proxy
reductions), the memory check before it, and ``intrain.score`` (`intrain.scoring.api`).
"""
