"""The learned scorer: a GNN over the Fitness Knowledge Graph conditions skeleton and sEMG clip encoders.

Importing this package imports nothing heavy; torch is loaded by the modules that need it, so the rule
path (``flexaqa rules check``, ``flexaqa assess --no-model``) never pays for it.

- :mod:`models.text` hashed character n-gram embedding of label text (offline, no downloaded encoder)
- :mod:`models.graph_encoder` heterogeneous GNN over ``kg.export.to_heterodata``: one embedding per node
- :mod:`models.skeleton_encoder`, :mod:`models.emg_encoder`, :mod:`models.video_encoder` clip encoders
- :mod:`models.views` 2D camera views of 3D training skeletons (a model that speaks for phone keypoints)
- :mod:`models.scorer` rule and key-step embeddings query the fused time features; differentiable penalty score
- :mod:`models.baseline` the FLEX-style no-graph regressor; :mod:`models.compare` every scorer side by side
- :mod:`models.modalities` the registry: what each modality reads of a repetition and its encoder;
  :mod:`models.inputs` skeleton and sEMG -> fixed-size arrays; :mod:`models.frames` video views -> frames;
  :mod:`models.data` a labelled FLEX-layout folder -> tensors
- :mod:`models.checkpoint` save/load with config, metrics, thresholds, modalities, the KG hash and its embeddings;
  :mod:`models.manifest` what a checkpoint was trained on, read without torch
- :mod:`models.train`, :mod:`models.metrics`, :mod:`models.predict` (findings for the engine)
"""
