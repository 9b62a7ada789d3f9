"""The layout of docs/results.md: which script writes which part, in the file's order.

- `bench/paper_tables.py`: the title and the paper's tables, from Table 1 to Fig. 2e/2f (rewritten whole);
- `bench/m_sweep.py`: FEWER_STEPS (replaced in place);
- `bench/gpu_speed.py`: GPU_SECTION, at the end (appended to).

A script that rewrites its part keeps the others as they are.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = Path("docs/results.md")
FEWER_STEPS = "## Fewer steps than the paper"  # bench/m_sweep.py's part (before the GPU one)
GPU_SECTION = "## GPU speed"  # bench/gpu_speed.py's part: its runs, appended at the end


def section_end(text: str, header: str) -> int:
    """Where the part of `text` that starts at `header` ends: at the next section another script writes (the
    m-sweep's, the GPU one), else at the end."""
    start = text.index(header) + len(header)
    ends = [text.index(h, start) for h in (FEWER_STEPS, GPU_SECTION) if h in text[start:]]
    return min(ends, default=len(text))


def other_scripts_sections(old: str) -> str:
    """The m-sweep's section and the GPU section of the old file, as they are (the GPU one's placeholder when the
    file has none)."""
    from bench.gpu_speed import NOT_MEASURED

    fewer = old[old.index(FEWER_STEPS):section_end(old, FEWER_STEPS)].rstrip() + "\n\n" if FEWER_STEPS in old else ""
    gpu = old[old.index(GPU_SECTION):] if GPU_SECTION in old else f"{GPU_SECTION}\n\n{NOT_MEASURED}\n"
    return fewer + gpu
