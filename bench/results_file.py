"""The layout of docs/results.md: which script writes which part, in the file's order.

- `bench/paper_tables.py`: the title and the paper's tables, from Table 1 to Fig. 2e/2f (rewritten whole);
- `bench/m_sweep.py`: FEWER_STEPS (replaced in place);
- `bench/new_terms.py`: NEW_TERMS (replaced in place);
- `bench/gpu_speed.py`: GPU_SECTION, at the end (appended to).

A script that rewrites its part keeps the others as they are.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = Path("docs/results.md")
FEWER_STEPS = "## Fewer steps than the paper"  # bench/m_sweep.py's part (before the GPU one)
NEW_TERMS = "## Real clips and distribution matching at 1 and 2 steps"  # bench/new_terms.py's part (after it)
GPU_SECTION = "## GPU speed"  # bench/gpu_speed.py's part: its runs, appended at the end
OWNED = (FEWER_STEPS, NEW_TERMS, GPU_SECTION)  # the parts other scripts than paper_tables.py own, in file order


def section_end(text: str, header: str) -> int:
    """Where the part of `text` that starts at `header` ends: at the next section another script writes (the
    m-sweep's, the new terms', the GPU one), else at the end."""
    start = text.index(header) + len(header)
    ends = [text.index(h, start) for h in OWNED if h != header and h in text[start:]]
    return min(ends, default=len(text))


def replace_section(text: str, header: str, section: str) -> str:
    """`text` (a results file) with its `header` part replaced by `section`, or `section` put before the first
    owned part that follows it in the file's order (or at the end) when it has none."""
    if header in text:
        start = text.index(header)
        return text[:start] + section.rstrip() + "\n\n" + text[section_end(text, header):]
    later = [text.index(h) for h in OWNED[OWNED.index(header) + 1:] if h in text]
    at = min(later, default=len(text))
    head = text[:at].rstrip("\n")
    return head + ("\n\n" if head else "") + section.rstrip() + "\n\n" + text[at:]


def other_scripts_sections(old: str) -> str:
    """The m-sweep's and the new terms' sections and the GPU section of the old file, as they are (the GPU one's
    placeholder when the file has none)."""
    from bench.gpu_speed import NOT_MEASURED

    kept = "".join(old[old.index(h):section_end(old, h)].rstrip() + "\n\n" for h in OWNED[:-1] if h in old)
    gpu = old[old.index(GPU_SECTION):] if GPU_SECTION in old else f"{GPU_SECTION}\n\n{NOT_MEASURED}\n"
    return kept + gpu
