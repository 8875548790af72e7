"""The learned scorer: a GNN over the Fitness Knowledge Graph conditions skeleton and sEMG clip encoders.

Importing this package imports nothing heavy; torch is loaded by the modules that need it, so the rule
path (``flexaqa rules check``, ``flexaqa assess`` without ``--model``) never pays for it.

- :mod:`models.text` hashed character n-gram embedding of label text (offline, no downloaded encoder)
- :mod:`models.graph_encoder` heterogeneous GNN over ``kg.export.to_heterodata``: one embedding per node
- :mod:`models.skeleton_encoder`, :mod:`models.emg_encoder` clip encoders (video is not built yet)
- :mod:`models.scorer` rule and key-step embeddings query the fused time features; differentiable penalty score
- :mod:`models.baseline` the FLEX-style no-graph regressor; :mod:`models.compare` every scorer side by side
- :mod:`models.inputs` clip -> fixed-size tensors; :mod:`models.data` a labelled FLEX-layout folder -> tensors
- :mod:`models.checkpoint` save/load with config, metrics, thresholds, modalities, the KG hash and its embeddings
- :mod:`models.train`, :mod:`models.metrics`, :mod:`models.predict` (findings for the engine)
"""
