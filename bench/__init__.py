"""Reports and probes around the library: each module runs as `python bench/NAME.py` (or `python -m bench.NAME`)
and imports the others as `bench.NAME`.

Reports write docs/results.md, one part each (bench.results_file): paper_tables (the paper's tables), m_sweep
(fewer steps), gpu_speed (GPU speed); gallery writes docs/gallery, distill_curve a run's learning curve. Probes
measure one thing and print it: teacher_quality (the quality bar), student_handoff, discriminator_probe,
shape_commitment, text_reliance, vae_quality, the speed scripts.
"""
