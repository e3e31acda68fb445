"""Interop with the peers' files: NASLib / NAS-Bench-Suite-Zero ``zc_<space>.json``, zero-cost-nas's
pickle streams, CSV/Parquet exports, and the architecture encodings each of them uses.

One job per module: `.peer_encodings` (any encoding in, all out, by asking the space: the
encodings live in ``intrain/spaces/<space>/peers.py``), `.peerscores` (the
in-memory table every reader returns and every writer takes), `.naslib_zc`,
`.zero_cost_nas`, `.export`, `.importer`, `.agreement` and `.cli`.
Nothing is imported here, so ``import intrain.interop.peer_encodings`` stays free of torch.
"""
