//! Per-stream grouping state, bounded (least recently used stream released first).
